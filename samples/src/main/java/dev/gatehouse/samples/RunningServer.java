package dev.gatehouse.samples;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import io.modelcontextprotocol.server.McpSyncServer;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sample Streamable-HTTP MCP server that is up and listening.
 *
 * <p>Obtained from {@link Samples#startHttpTools(String, int)} or {@link Samples#startConformance(String, int)}.
 * Closing it ends every MCP session and stops the HTTP server; it is safe to close more than once.
 */
public final class RunningServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RunningServer.class);

    /** Long enough for in-flight tool calls to finish their last SSE event, short enough for tests. */
    private static final Duration SESSION_CLOSE_TIMEOUT = Duration.ofSeconds(3);

    private final Server jetty;
    private final McpSyncServer mcp;
    private final int port;
    private final URI url;
    private final AtomicBoolean closed = new AtomicBoolean();

    RunningServer(Server jetty, McpSyncServer mcp, int port, URI url) {
        this.jetty = jetty;
        this.mcp = mcp;
        this.port = port;
        this.url = url;
    }

    /** The TCP port the server listens on (the real one when 0 was asked for). */
    public int port() {
        return port;
    }

    /** The MCP endpoint, for example {@code http://127.0.0.1:3001/mcp}. */
    public URI url() {
        return url;
    }

    /** Blocks until the server has stopped; used by {@code main}, which runs until killed. */
    void join() throws InterruptedException {
        jetty.join();
    }

    /** Ends every MCP session, then stops Jetty. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // MCP first: closing the sessions completes the servlet async contexts of open SSE streams,
        // so Jetty's graceful stop has nothing left to wait for.
        try {
            mcp.getAsyncServer().closeGracefully().block(SESSION_CLOSE_TIMEOUT);
        } catch (RuntimeException e) {
            log.warn("MCP sessions did not close cleanly: {}", e.toString());
        }
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
