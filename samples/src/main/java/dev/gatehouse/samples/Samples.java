package dev.gatehouse.samples;

import java.io.IOException;
import java.util.Objects;

/**
 * Sample MCP servers for developing and testing Gatehouse.
 *
 * <p>From the command line, {@code java -jar gatehouse-samples.jar <server> [--port N] [--host H]} runs one of:
 * <ul>
 * <li>{@code stdio-tools}: a stdio server with offline utilities ({@code now}, {@code hash}, {@code base64},
 * {@code uuid}, {@code json_format}, {@code calc});</li>
 * <li>{@code http-tools}: a Streamable-HTTP server at {@code /mcp}, port 3001 by default ({@code word_count},
 * {@code slugify}, {@code kv_*} notebook, {@code sleep_ms});</li>
 * <li>{@code conformance}: the fixture server the MCP conformance suite tests, at {@code /mcp}, port 3002;</li>
 * <li>{@code scripted-model}: a deterministic OpenAI-compatible model server with base URL {@code /v1}, port 3003
 * ({@code POST /v1/chat/completions}, {@code GET /v1/models}; see {@link ScriptedModel} for its script);</li>
 * <li>{@code faulty}: a stdio server that crashes, hangs or misbehaves on request ({@code --noisy},
 * {@code --hang-on-start}).</li>
 * </ul>
 * HTTP servers print {@code listening on http://HOST:PORT/mcp} (the scripted model: {@code .../v1}) on stderr once
 * they accept connections. Stdio
 * servers log to stderr only and exit when stdin closes.
 *
 * <p>Tests start the HTTP servers in-process with {@link #startHttpTools(String, int)},
 * {@link #startConformance(String, int)} and {@link #startScriptedModel(String, int)}.
 */
public final class Samples {

    static final String VERSION = "0.1.0";

    /** What {@code faulty --noisy} prints on stdout before the protocol starts. */
    static final String NOISE = "faulty: this line is not JSON-RPC (started with --noisy)";

    private Samples() {
    }

    /**
     * Starts the {@code http-tools} server in this JVM.
     *
     * @param host address to bind, normally {@code 127.0.0.1}
     * @param port port to bind; 0 picks a free one, see {@link RunningServer#port()}
     * @throws IOException if the port cannot be bound
     */
    public static RunningServer startHttpTools(String host, int port) throws IOException {
        return HttpHost.start("http-tools", checkHost(host), checkPort(port), HttpTools::build);
    }

    /**
     * Starts the MCP conformance-suite fixture server in this JVM.
     *
     * @param host address to bind, normally {@code 127.0.0.1}
     * @param port port to bind; 0 picks a free one, see {@link RunningServer#port()}
     * @throws IOException if the port cannot be bound
     */
    public static RunningServer startConformance(String host, int port) throws IOException {
        return HttpHost.start("conformance", checkHost(host), checkPort(port), ConformanceFixture::build);
    }

    /**
     * Starts the {@code scripted-model} server in this JVM: a deterministic OpenAI-compatible chat-completions
     * server whose replies, tool calls and faults are described in {@link ScriptedModel}. Its
     * {@link RunningServer#url()} is the OpenAI base URL, {@code http://HOST:PORT/v1}.
     *
     * @param host address to bind, normally {@code 127.0.0.1}
     * @param port port to bind; 0 picks a free one, see {@link RunningServer#port()}
     * @throws IOException if the port cannot be bound
     */
    public static RunningServer startScriptedModel(String host, int port) throws IOException {
        return ScriptedModel.start(checkHost(host), checkPort(port));
    }

    /** Runs the server named on the command line until it is stopped (HTTP) or stdin closes (stdio). */
    public static void main(String[] args) {
        // Before any logger exists (slf4j-simple reads its settings once): stdout belongs to the stdio protocol.
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.print(CommandLine.USAGE);
            return;
        }
        CommandLine command;
        try {
            command = CommandLine.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.print(CommandLine.USAGE);
            System.exit(2);
            return;
        }
        int status;
        try {
            status = run(command);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 1;
        } catch (IOException | RuntimeException e) {
            System.err.println("error: " + command.server() + " failed: " + e);
            status = 1;
        }
        System.exit(status);
    }

    private static int run(CommandLine command) throws IOException, InterruptedException {
        return switch (command.server()) {
            case "stdio-tools" -> StdioHost.serve("stdio-tools", StdioTools::build, null);
            case "faulty" -> command.hangOnStart() ? StdioHost.hang("faulty")
                    : StdioHost.serve("faulty", FaultyServer::build, command.noisy() ? NOISE : null);
            case "http-tools" -> serveUntilStopped(startHttpTools(command.host(), command.port()));
            case "conformance" -> serveUntilStopped(startConformance(command.host(), command.port()));
            case "scripted-model" -> serveUntilStopped(startScriptedModel(command.host(), command.port()));
            default -> throw new IllegalArgumentException("unknown server " + command.server());
        };
    }

    private static int serveUntilStopped(RunningServer server) throws InterruptedException {
        // Ctrl-C / SIGTERM: end any MCP sessions so clients see the stream close rather than a reset.
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "samples-shutdown"));
        server.join();
        return 0;
    }

    private static String checkHost(String host) {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host is blank");
        }
        return host;
    }

    private static int checkPort(int port) {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port must be 0-65535, got " + port);
        }
        return port;
    }
}
