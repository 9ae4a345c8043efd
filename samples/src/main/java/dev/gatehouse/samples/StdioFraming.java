package dev.gatehouse.samples;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCMessage;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCRequest;
import io.modelcontextprotocol.spec.McpSchema.JSONRPCResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits between the process's stdin/stdout and the SDK's stdio server transport to fix two behaviours of the
 * SDK (2.1.0) that make a stdio server fragile:
 * <ul>
 * <li>The SDK stops reading stdin for good at the first line that is not a JSON-RPC message, leaving a live
 * process that never answers again. Such lines are dropped here, with a warning on stderr.</li>
 * <li>At end of input the SDK stops writing at once, so responses to the last requests are lost, and
 * {@code printf '...' | java -jar samples.jar stdio-tools} prints nothing useful. End of input is held back
 * here until every request read so far has been answered (at most {@link #DRAIN_LIMIT}).</li>
 * </ul>
 * It also tells {@code main} when stdin has closed, so the process can exit instead of lingering.
 */
final class StdioFraming {

    private static final Logger log = LoggerFactory.getLogger(StdioFraming.class);

    static final Duration DRAIN_LIMIT = Duration.ofSeconds(10);

    private final McpJsonMapper mapper;
    /** Ids of client requests that have been passed to the SDK and not answered yet. */
    private final Set<String> unanswered = ConcurrentHashMap.newKeySet();
    private final CountDownLatch inputClosed = new CountDownLatch(1);

    StdioFraming(McpJsonMapper mapper) {
        this.mapper = mapper;
    }

    InputStream input(InputStream stdin) {
        return new FilteredInput(new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8)));
    }

    OutputStream output(OutputStream stdout) {
        return new TrackingOutput(stdout);
    }

    /** Blocks until stdin has ended and the requests read before that were answered (or gave up waiting). */
    void awaitInputClosed() throws InterruptedException {
        inputClosed.await();
    }

    /** Request ids are numbers or strings; keep 1 and "1" apart. */
    private static String key(Object id) {
        return (id instanceof String ? "s:" : "n:") + id;
    }

    private JSONRPCMessage parseOrNull(String line) {
        try {
            return McpSchema.deserializeJsonRpcMessage(mapper, line);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private final class FilteredInput extends InputStream {

        private final BufferedReader lines;
        private byte[] buffer = new byte[0];
        private int position;
        private boolean ended;

        FilteredInput(BufferedReader lines) {
            this.lines = lines;
        }

        @Override
        public int read() throws IOException {
            return fill() ? buffer[position++] & 0xff : -1;
        }

        @Override
        public int read(byte[] target, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(length, buffer.length - position);
            System.arraycopy(buffer, position, target, offset, n);
            position += n;
            return n;
        }

        /** Makes sure unread bytes are buffered; false at end of input. */
        private boolean fill() throws IOException {
            while (position >= buffer.length) {
                if (ended) {
                    return false;
                }
                String line = lines.readLine();
                if (line == null) {
                    ended = true;
                    drain();
                    return false;
                }
                if (line.isBlank()) {
                    continue;
                }
                JSONRPCMessage message = parseOrNull(line);
                if (message == null) {
                    log.warn("ignoring a line on stdin that is not a JSON-RPC message: {}",
                            line.length() > 200 ? line.substring(0, 200) + "..." : line);
                    continue;
                }
                if (message instanceof JSONRPCRequest request) {
                    unanswered.add(key(request.id()));
                }
                buffer = (line + "\n").getBytes(StandardCharsets.UTF_8);
                position = 0;
            }
            return true;
        }

        private void drain() {
            long deadline = System.nanoTime() + DRAIN_LIMIT.toNanos();
            try {
                while (!unanswered.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (!unanswered.isEmpty()) {
                log.warn("stdin closed; giving up on {} unanswered request(s)", unanswered.size());
            }
            inputClosed.countDown();
        }
    }

    private final class TrackingOutput extends OutputStream {

        private final OutputStream out;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        /** Answered ids are released only once flushed: until then the response might still be lost. */
        private final List<String> answered = new ArrayList<>();

        TrackingOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            out.write(b);
            track(b);
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            out.write(bytes, offset, length);
            for (int i = offset; i < offset + length; i++) {
                track(bytes[i]);
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            out.flush();
            answered.forEach(unanswered::remove);
            answered.clear();
        }

        @Override
        public void close() throws IOException {
            flush();
            out.close();
        }

        private void track(int b) {
            if (b != '\n') {
                line.write(b);
                return;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (parseOrNull(text) instanceof JSONRPCResponse response && response.id() != null) {
                answered.add(key(response.id()));
            }
        }
    }
}
