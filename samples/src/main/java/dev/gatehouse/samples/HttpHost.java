package dev.gatehouse.samples;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** Runs an MCP server over Streamable HTTP in an embedded Jetty, at {@value #ENDPOINT}. */
final class HttpHost {

    static final String ENDPOINT = "/mcp";

    private static final List<String> LOOPBACK_HOSTS = List.of("localhost", "127.0.0.1", "[::1]");

    private HttpHost() {
    }

    /**
     * Starts Jetty on {@code host:port} (0 picks a free port) with the MCP server that {@code mcpFactory}
     * builds on the given transport, and prints {@code listening on URL} to stderr once it accepts connections.
     */
    static RunningServer start(String name, String host, int port,
            Function<HttpServletStreamableServerTransportProvider, McpSyncServer> mcpFactory) throws IOException {
        var transport = HttpServletStreamableServerTransportProvider.builder()
            .mcpEndpoint(ENDPOINT)
            // The SDK pings every session on a timer by default (2.1.0: every 30 min). Server-initiated pings
            // at arbitrary moments make gateway tests nondeterministic, so the samples do without them.
            .keepAliveInterval(null)
            // The SDK's idle-session sweeper (default every 30 min) runs on a non-daemon thread of its own
            // that closeGracefully() does not stop (2.1.0): every server started in-process would leave one
            // behind and keep the JVM alive. Without it, sessions whose client never sends DELETE stay in
            // memory until the server stops, which is harmless for sample servers.
            .sessionSweepInterval(null)
            .httpHeaderValidator(loopbackOnly(host))
            .build();
        McpSyncServer mcp = mcpFactory.apply(transport);

        var threads = new QueuedThreadPool(32, 4);
        threads.setName("samples-" + name);
        var jetty = new Server(threads);
        var connector = new ServerConnector(jetty);
        connector.setHost(host);
        connector.setPort(port);
        jetty.addConnector(connector);

        var context = new ServletContextHandler();
        context.setContextPath("/");
        var holder = new ServletHolder("mcp", transport);
        holder.setAsyncSupported(true); // every POST that carries a request is answered on an SSE stream
        context.addServlet(holder, ENDPOINT);
        jetty.setHandler(context);
        // No graceful phase: RunningServer.close() has already ended the MCP sessions, and waiting would only
        // idle out the clients' keep-alive connections (a second per stop, which adds up across tests).
        jetty.setStopTimeout(0);

        try {
            jetty.start();
        } catch (Exception e) {
            mcp.close();
            try {
                jetty.stop();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof IOException io ? io : new IOException("cannot start " + name + " on " + host + ":" + port, e);
        }
        int actualPort = connector.getLocalPort();
        URI url = URI.create("http://" + uriHost(host) + ":" + actualPort + ENDPOINT);
        System.err.println("listening on " + url);
        return new RunningServer(jetty, mcp, actualPort, url);
    }

    /**
     * Accepts only loopback {@code Host} and {@code Origin} headers (plus the bind address itself): a page on
     * another site that rebinds its DNS name to 127.0.0.1 must not reach a local MCP server.
     */
    private static DefaultServerTransportSecurityValidator loopbackOnly(String bindHost) {
        List<String> hosts = new ArrayList<>(LOOPBACK_HOSTS);
        String own = uriHost(bindHost);
        if (!hosts.contains(own)) {
            hosts.add(own);
        }
        var validator = DefaultServerTransportSecurityValidator.builder();
        for (String h : hosts) {
            validator.allowedHost(h + ":*").allowedOrigin("http://" + h + ":*");
        }
        return validator.build();
    }

    /** IPv6 literals need brackets in URIs and Host headers. */
    static String uriHost(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }
}
