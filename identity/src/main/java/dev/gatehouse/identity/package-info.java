/**
 * Identity: turning a request's credentials (OIDC access tokens, gateway API keys) into one
 * principal. Its implementation lands with the identity issue; the gateway's pipeline already has the
 * seam (authentication at the HTTP edge, before resolve and decide).
 */
package dev.gatehouse.identity;
