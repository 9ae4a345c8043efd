package dev.gatehouse.registry;

/**
 * A token the gateway got for an upstream, or could not get, or had refused: what the audit trail
 * records of upstream credentials. Carries no token value.
 *
 * @param outcome {@code issued} (a client credentials grant or a token exchange succeeded),
 *     {@code failed} (the authorization server refused or could not be reached) or {@code refused}
 *     (the upstream answered 401 to a token, which is then dropped)
 * @param grant {@code client_credentials} or {@code token_exchange}
 * @param detail what happened, in words: the token endpoint, the lifetime, the error
 */
public record UpstreamTokenEvent(String outcome, String grant, String detail) {}
