package dev.gatehouse.samples;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import io.modelcontextprotocol.server.McpSyncServer;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sample HTTP server that is up and listening: a Streamable-HTTP MCP server or the scripted model.
 *
 * <p>Obtained from {@link Samples#startHttpTools(String, int)}, {@link Samples#startConformance(String, int)} or
 * {@link Samples#startScriptedModel(String, int)}. Closing it ends every MCP session (if it is an MCP server)
 * and stops the HTTP server; it is safe to close more than once.
 */
public final class RunningServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RunningServer.class);

    /** Long enough for in-flight tool calls to finish their last SSE event, short enough for tests. */
    private static final Duration SESSION_CLOSE_TIMEOUT = Duration.ofSeconds(3);

    private final Server jetty;
    /** Empty for the scripted model, which has no sessions to end. */
    private final Optional<McpSyncServer> mcp;
    private final int port;
    private final URI url;
    private final AtomicBoolean closed = new AtomicBoolean();

    RunningServer(Server jetty, McpSyncServer mcp, int port, URI url) {
        this(jetty, Optional.of(mcp), port, url);
    }

    RunningServer(Server jetty, int port, URI url) {
        this(jetty, Optional.empty(), port, url);
    }

    private RunningServer(Server jetty, Optional<McpSyncServer> mcp, int port, URI url) {
        this.jetty = jetty;
        this.mcp = mcp;
        this.port = port;
        this.url = url;
    }

    /** The TCP port the server listens on (the real one when 0 was asked for). */
    public int port() {
        return port;
    }

    /**
     * Where clients point: the MCP endpoint of an MCP server, for example {@code http://127.0.0.1:3001/mcp}, or
     * the scripted model's OpenAI base URL, for example {@code http://127.0.0.1:3003/v1}.
     */
    public URI url() {
        return url;
    }

    /** Blocks until the server has stopped; used by {@code main}, which runs until killed. */
    void join() throws InterruptedException {
        jetty.join();
    }

    /** Ends every MCP session, if any, then stops Jetty. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // MCP first: closing the sessions completes the servlet async contexts of open SSE streams,
        // so Jetty's graceful stop has nothing left to wait for.
        mcp.ifPresent(server -> {
            try {
                server.getAsyncServer().closeGracefully().block(SESSION_CLOSE_TIMEOUT);
            } catch (RuntimeException e) {
                log.warn("MCP sessions did not close cleanly: {}", e.toString());
            }
        });
        try {
            jetty.stop();
        } catch (Exception e) {
            log.warn("Jetty did not stop cleanly: {}", e.toString());
        }
    }

    @Override
    public String toString() {
        return "RunningServer[" + url + "]";
    }
}
