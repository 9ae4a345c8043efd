package dev.gatehouse.samples;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Function;

import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs an MCP server on this process's stdin and stdout until stdin ends. */
final class StdioHost {

    private static final Logger log = LoggerFactory.getLogger(StdioHost.class);

    private StdioHost() {
    }

    /**
     * Serves until stdin is closed, then shuts the server down and returns the exit status.
     *
     * @param junk a line to print on stdout before the protocol starts (to test clients' tolerance), or null
     */
    static int serve(String name, Function<McpServerTransportProvider, McpSyncServer> mcpFactory, String junk)
            throws InterruptedException {
        PrintStream protocolOut = takeStdout();
        if (junk != null) {
            protocolOut.println(junk);
            protocolOut.flush();
        }
        var mapper = McpJsonDefaults.getMapper();
        var framing = new StdioFraming(mapper);
        var transport = new StdioServerTransportProvider(mapper, framing.input(System.in), framing.output(protocolOut));
        McpSyncServer server = mcpFactory.apply(transport);
        log.info("{} serving MCP on stdio, pid {}", name, ProcessHandle.current().pid());

        framing.awaitInputClosed();
        log.info("stdin closed, {} shutting down", name);
        try {
            server.getAsyncServer().closeGracefully().block(Duration.ofSeconds(2));
        } catch (RuntimeException e) {
            log.debug("close after end of input: {}", e.toString());
        }
        return 0;
    }

    /**
     * Reads and discards stdin until it ends, never answering anything, not even {@code initialize}: a server
     * that hangs on start. Ends with stdin so that a client which gives up and closes the pipe leaves no orphan.
     */
    static int hang(String name) throws IOException {
        takeStdout();
        log.warn("{} started with --hang-on-start: will not answer initialize (pid {})", name,
                ProcessHandle.current().pid());
        System.in.transferTo(OutputStream.nullOutputStream());
        return 0;
    }

    /**
     * Returns the real stdout for the protocol and points {@code System.out} at stderr, so that nothing else in
     * the process (a library's println, a stray debug line) can corrupt the JSON-RPC stream.
     */
    private static PrintStream takeStdout() {
        PrintStream stdout = System.out;
        System.setOut(System.err);
        return stdout;
    }
}
