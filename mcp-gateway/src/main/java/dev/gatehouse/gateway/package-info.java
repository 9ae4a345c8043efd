/**
 * The Gatehouse process: the Jetty server, config loading and hot reload, the request pipeline
 * (authenticate → resolve → decide → execute → record) and the MCP server at {@code /mcp} that
 * federates every upstream of the tool registry.
 */
package dev.gatehouse.gateway;
