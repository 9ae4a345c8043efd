package dev.gatehouse.samples;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;

/** Test plumbing: SDK clients for the sample servers, and raw child processes for stdio edge cases. */
final class TestClients {

    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private TestClients() {
    }

    /** An initialized SDK client for a Streamable-HTTP server; {@code spec} may add handlers and consumers. */
    static McpSyncClient http(URI mcpUrl, UnaryOperator<McpClient.SyncSpec> spec) {
        var transport = HttpClientStreamableHttpTransport.builder(mcpUrl.getScheme() + "://" + mcpUrl.getRawAuthority())
            .endpoint(mcpUrl.getRawPath())
            .build();
        McpSyncClient client = spec.apply(McpClient.sync(transport).requestTimeout(TIMEOUT)).build();
        client.initialize();
        return client;
    }

    /** An initialized SDK client for {@code Samples <args>} run as a child JVM over stdio. */
    static McpSyncClient stdio(UnaryOperator<McpClient.SyncSpec> spec, String... args) {
        var params = ServerParameters.builder(javaBinary()).args(javaArgs(args)).build();
        var transport = new StdioClientTransport(params, McpJsonDefaults.getMapper());
        McpSyncClient client = spec.apply(McpClient.sync(transport).requestTimeout(TIMEOUT)).build();
        client.initialize();
        return client;
    }

    static String javaBinary() {
        return ProcessHandle.current().info().command().orElseThrow();
    }

    /** The JVM arguments that run {@link Samples} with this test's classpath. */
    static List<String> javaArgs(String... args) {
        List<String> command = new ArrayList<>(List.of(
                "-XX:TieredStopAtLevel=1", // start-up speed matters more than peak speed here
                "-cp", System.getProperty("java.class.path"),
                Samples.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    static String text(CallToolResult result) {
        return result.content().stream()
            .filter(TextContent.class::isInstance)
            .map(c -> ((TextContent) c).text())
            .findFirst()
            .orElseThrow(() -> new AssertionError("no text content in " + result));
    }

    /** A {@code Samples} child process spoken to line by line, for what an SDK client cannot show. */
    static final class RawStdio implements AutoCloseable {

        private final Process process;
        private final Writer stdin;
        private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
        private final Path stderr;

        RawStdio(String... args) throws IOException {
            List<String> command = new ArrayList<>();
            command.add(javaBinary());
            command.addAll(javaArgs(args));
            stderr = Files.createTempFile("samples-stderr-", ".log");
            // Never inherit: the test JVM's own stdout/stderr may be the build tool's channel.
            process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
            stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (var lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = lines.readLine()) != null; ) {
                        stdout.add(line);
                    }
                } catch (IOException e) {
                    // the process went away; readers see the queue run dry
                }
            }, "raw-stdio-reader");
            reader.setDaemon(true);
            reader.start();
        }

        void send(String... jsonLines) throws IOException {
            for (String line : jsonLines) {
                stdin.write(line);
                stdin.write('\n');
            }
            stdin.flush();
        }

        void closeStdin() throws IOException {
            stdin.close();
        }

        /** The next stdout line, or null if none comes within {@code wait}. */
        String nextLine(Duration wait) throws InterruptedException {
            return stdout.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** Waits for the process to exit and returns its status; fails the test if it does not. */
        int exitCode(Duration wait) throws InterruptedException {
            if (!process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("process still running after " + wait + "; stderr:\n" + stderr());
            }
            return process.exitValue();
        }

        long pid() {
            return process.pid();
        }

        String stderr() {
            try {
                return Files.readString(stderr);
            } catch (IOException e) {
                return "(unreadable: " + e + ")";
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            File file = stderr.toFile();
            if (!file.delete()) {
                file.deleteOnExit();
            }
        }
    }

    /** JSON-RPC lines for the handshake every raw stdio test starts with. */
    static final String INITIALIZE = """
            {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",\
            "capabilities":{},"clientInfo":{"name":"raw-test","version":"1"}}}""";
    static final String INITIALIZED = """
            {"jsonrpc":"2.0","method":"notifications/initialized"}""";

    static String callTool(int id, String name, String argumentsJson) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name
                + "\",\"arguments\":" + argumentsJson + "}}";
    }
}
