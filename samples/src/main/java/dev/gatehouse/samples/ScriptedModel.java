package dev.gatehouse.samples;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import dev.gatehouse.samples.ModelScript.Reply;

/**
 * The {@code scripted-model} server: a deterministic stand-in for an OpenAI-compatible model provider, so
 * that the gateway's LLM routes can be tested end to end without a network or a real model.
 *
 * <h2>Endpoints</h2>
 * Base URL {@code http://HOST:PORT/v1} (port {@value #DEFAULT_PORT} by default). Every request needs
 * {@code Authorization: Bearer <any non-empty key>}; without one the answer is 401.
 * <ul>
 * <li>{@code POST /v1/chat/completions}: a {@code chat.completion}, or with {@code "stream": true} an SSE stream
 * of {@code chat.completion.chunk}s ending in {@code data: [DONE]} (see {@link ChatWire#chunks});</li>
 * <li>{@code POST /v1/embeddings}: deterministic 8-dimension unit vectors, one per input (see {@link #embeddings});</li>
 * <li>{@code GET /v1/models} and {@code GET /v1/models/{id}}: the scripted models below;</li>
 * <li>{@code POST /v1/messages}: the same replies in the shape of Anthropic's Messages API, whole or as its
 * typed event stream (see {@link MessagesWire}), for tests of the gateway's Anthropic provider.</li>
 * </ul>
 *
 * <h2>What the model answers</h2>
 * Rules in order; the first that applies wins.
 * <ol>
 * <li><b>Tool results</b>: if the last message has role {@code tool}, the answer is text quoting every trailing
 * tool message, one line each, {@code <tool>: <content>} (the tool's name without any prefix up to the last
 * {@code __}, so {@code tools__calc} gives {@code calc: 84}); finish reason {@code stop}.</li>
 * <li><b>Tool calls</b>: if the last message is from the {@code user}, the request offers {@code tools} and
 * {@code tool_choice} is not {@code "none"}, the user text is cut into clauses at {@code ; ? ! .} (a dot
 * followed by a space or the end), newlines and the words {@code and}/{@code then}. Each clause yields at
 * most one ask, the first of:
 * <ul>
 * <li>{@code echo X} → a tool ending in {@code echo}, {@code {"text": "X"}};</li>
 * <li>{@code hash X}, {@code sha256 of X}, {@code sha-256 hash of X} → {@code hash}, {@code {"text": "X"}};</li>
 * <li>the word {@code uuid} → {@code uuid}, {@code {}};</li>
 * <li>the word {@code time} or {@code date} → {@code now}, {@code {"timezone": Z}}, Z the word after
 * {@code in} ({@code UTC} if there is none);</li>
 * <li>an arithmetic expression (digits, {@code . + - * / ( )}, at least one operator), with or without
 * "what is"/"calculate" → {@code calc}, {@code {"expression": "12*7"}}.</li>
 * </ul>
 * A clause that starts with the word {@code garbled} gets its call's {@code arguments} without the closing
 * brace: not JSON, as a model sometimes sends them. Surrounding quotes and trailing commas are dropped from X. Each ask goes to the first offered tool whose
 * name is the suffix or ends in a non-alphanumeric separator plus the suffix ({@code tools__calc},
 * {@code math.calc}), else to the first whose name simply ends in it; asks with no such tool are skipped.
 * Several asks give parallel tool calls in one response ({@code parallel_tool_calls: false} keeps the first), ids {@code call_N} numbered
 * on from the tool calls already in the conversation's assistant messages; finish reason
 * {@code tool_calls}, {@code content} null. If no ask finds a tool, the next rule applies.</li>
 * <li><b>Otherwise</b> the text {@code You said: <last user message>} ({@code You said nothing.} if there is
 * none); finish reason {@code stop}.</li>
 * </ol>
 * A text answer longer than {@code max_completion_tokens} (or {@code max_tokens}) tokens is cut to that many,
 * finish reason {@code length}.
 *
 * <p><b>Usage</b>, identical streamed or not: a token is a run of non-space characters.
 * {@code prompt_tokens} counts the tokens of every message's text content; {@code completion_tokens} those of
 * the answer text or, for tool calls, of each call's {@code name + " " + arguments}. Streams carry one text
 * token per chunk and tool-call arguments in fragments of 8 characters; with
 * {@code stream_options.include_usage} the usage follows in a last chunk with {@code "choices": []}. Only
 * {@code id} ({@code chatcmpl-scripted-N}, counted per server) and {@code created} (the clock) vary.
 *
 * <h2>Models and faults</h2>
 * <ul>
 * <li>{@code scripted-1}: the rules above;</li>
 * <li>{@code scripted-429}: the first request per {@code X-Scripted-Session} header value (no header is one
 * session too) gets 429 with {@code Retry-After: 1}; later ones are answered as {@code scripted-1};</li>
 * <li>{@code scripted-500}: always 500;</li>
 * <li>{@code scripted-slow}: waits {@code X-Scripted-Delay-Ms} (default {@value #DEFAULT_DELAY_MS}, at most
 * {@value #MAX_DELAY_MS}) before the first byte of the response;</li>
 * <li>{@code scripted-stall}: streams the first chunk, then waits as long before the rest (not streamed:
 * as {@code scripted-slow});</li>
 * <li>{@code scripted-drop}: streams the first two chunks and closes the connection (not streamed: closes it
 * without answering).</li>
 * </ul>
 * Errors are OpenAI error objects ({@code {"error": {"message", "type", "param", "code"}}}): 400 for a
 * malformed body or header, 401 without a key, 404 for an unknown model or path, 405 for a wrong method.
 */
final class ScriptedModel extends Handler.Abstract {

    static final int DEFAULT_PORT = 3003;
    static final String BASE_PATH = "/v1";
    static final List<String> MODELS =
            List.of("scripted-1", "scripted-429", "scripted-500", "scripted-slow", "scripted-stall", "scripted-drop");
    static final long DEFAULT_DELAY_MS = 2_000;
    static final long MAX_DELAY_MS = 60_000;
    static final String SESSION_HEADER = "X-Scripted-Session";
    static final String DELAY_HEADER = "X-Scripted-Delay-Ms";

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final AtomicLong responses = new AtomicLong();
    /** The X-Scripted-Session values scripted-429 has already refused once. */
    private final Set<String> rateLimitedSessions = ConcurrentHashMap.newKeySet();

    /** Starts the server on {@code host:port} (0 picks a free port) and prints {@code listening on URL} to stderr. */
    static RunningServer start(String host, int port) throws IOException {
        var threads = new QueuedThreadPool(32, 4);
        threads.setName("samples-scripted-model");
        // Handlers block (reading the body, pacing a stream, scripted delays): on virtual threads that costs
        // no pool thread, so a slow or stalled reply never starves the others.
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        var jetty = new Server(threads);
        var connector = new ServerConnector(jetty);
        connector.setHost(host);
        connector.setPort(port);
        jetty.addConnector(connector);
        jetty.setHandler(new ScriptedModel());
        jetty.setStopTimeout(0);
        try {
            jetty.start();
        } catch (Exception e) {
            try {
                jetty.stop();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof IOException io ? io : new IOException("cannot start scripted-model on " + host + ":" + port, e);
        }
        int actualPort = connector.getLocalPort();
        URI url = URI.create("http://" + HttpHost.uriHost(host) + ":" + actualPort + BASE_PATH);
        System.err.println("listening on " + url);
        return new RunningServer(jetty, actualPort, url);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            route(request, response, callback);
        } catch (ModelApiException e) {
            // Nothing has been written yet: every ModelApiException is thrown before the response commits.
            // A refusal may leave the request body unread, and then Jetty closes the connection after the
            // answer: say so, so a client does not send its next request on a connection about to close.
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            send(response, callback, e.status(), ChatWire.error(e));
        } catch (IOException e) {
            callback.failed(e); // the client went away mid-stream; Jetty drops the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            callback.failed(e);
        } catch (RuntimeException e) {
            // A bug in the script: still answer in OpenAI's format, so clients report it rather than choke on HTML.
            if (response.isCommitted()) {
                callback.failed(e);
            } else {
                send(response, callback, 500, ChatWire.error(ModelApiException.serverError("scripted model failed: " + e)));
            }
        }
        return true;
    }

    private void route(Request request, Response response, Callback callback) throws IOException, InterruptedException {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        if (path.equals(BASE_PATH + "/messages")) {
            messages(request, response, callback);
            return;
        }
        authenticate(request);
        if (path.equals(BASE_PATH + "/chat/completions")) {
            requireMethod(method, "POST", response);
            complete(request, response, callback);
        } else if (path.equals(BASE_PATH + "/embeddings")) {
            requireMethod(method, "POST", response);
            send(response, callback, 200, embeddings(readJson(request)));
        } else if (path.equals(BASE_PATH + "/models")) {
            requireMethod(method, "GET", response);
            send(response, callback, 200, ChatWire.models(MODELS));
        } else if (path.startsWith(BASE_PATH + "/models/")) {
            requireMethod(method, "GET", response);
            String id = path.substring((BASE_PATH + "/models/").length());
            send(response, callback, 200, ChatWire.model(knownModel(id)));
        } else {
            throw ModelApiException.notFound("Unknown request URL: " + method + " " + path
                    + ". Expected POST " + BASE_PATH + "/chat/completions, POST " + BASE_PATH + "/embeddings or GET " + BASE_PATH + "/models.");
        }
    }

    /**
     * {@code POST /v1/messages}, the Anthropic-shaped face ({@link MessagesWire}): {@code x-api-key} (any
     * non-empty value) instead of a bearer token, {@code max_tokens} required, the same replies as
     * {@code scripted-1} whatever the model, errors in Anthropic's shape.
     */
    private void messages(Request request, Response response, Callback callback) throws IOException {
        try {
            requireMethod(request.getMethod(), "POST", response);
            String key = request.getHeaders().get("x-api-key");
            if (key == null || key.isBlank()) {
                throw ModelApiException.missingKey("x-api-key header is required");
            }
            ChatRequest chat = MessagesWire.request(readJson(request));
            Reply reply = ModelScript.reply(chat);
            String id = "msg_scripted_" + responses.incrementAndGet();
            if (!chat.stream()) {
                send(response, callback, 200, MessagesWire.message(id, chat.model(), reply));
                return;
            }
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            List<ObjectNode> events = MessagesWire.events(id, chat.model(), reply);
            for (int i = 0; i < events.size(); i++) {
                ObjectNode e = events.get(i);
                write(response, i == events.size() - 1,
                        "event: " + e.path("type").asText() + "\ndata: " + JSON.writeValueAsString(e) + "\n\n");
            }
            callback.succeeded();
        } catch (ModelApiException e) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            send(response, callback, e.status(), MessagesWire.error(e));
        }
    }

    /** Dimensions of a scripted embedding. */
    static final int EMBEDDING_DIMENSIONS = 8;

    /**
     * {@code POST /v1/embeddings}: for each input (a string, or an array of strings) a deterministic
     * unit vector of {@value #EMBEDDING_DIMENSIONS} floats derived from the text's SHA-256 (as base64 of
     * little-endian float32s with {@code encoding_format: base64}); usage counts the inputs' tokens
     * (runs of non-space characters).
     */
    static ObjectNode embeddings(JsonNode body) {
        String model = knownModel(body.path("model").asText(""));
        List<String> inputs = new java.util.ArrayList<>();
        JsonNode input = body.get("input");
        if (input != null && input.isTextual()) {
            inputs.add(input.asText());
        } else if (input != null && input.isArray()) {
            input.forEach(i -> inputs.add(i.isTextual() ? i.asText() : i.toString()));
        }
        if (inputs.isEmpty()) {
            throw ModelApiException.badRequest("input", "'input' is required: a string or an array of strings");
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("object", "list");
        var data = out.putArray("data");
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String text = inputs.get(i);
            tokens += text.isBlank() ? 0 : text.trim().split("\\s+").length;
            byte[] h;
            try {
                h = java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            double[] v = new double[EMBEDDING_DIMENSIONS];
            double norm = 0;
            for (int d = 0; d < v.length; d++) {
                v[d] = (h[d] & 0xff) - 127.5;
                norm += v[d] * v[d];
            }
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            if ("base64".equals(body.path("encoding_format").asText())) {
                // As OpenAI does (and its SDKs ask for by default): little-endian float32s, base64.
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (double x : v) {
                    b.putFloat((float) (x / Math.sqrt(norm)));
                }
                item.put("embedding", java.util.Base64.getEncoder().encodeToString(b.array()));
            } else {
                var vec = item.putArray("embedding");
                for (double x : v) {
                    vec.add(x / Math.sqrt(norm));
                }
            }
        }
        out.put("model", model);
        ObjectNode usage = out.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        return out;
    }

    private static void authenticate(Request request) {
        String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        boolean bearer = authorization != null && authorization.length() > 7
                && authorization.regionMatches(true, 0, "Bearer ", 0, 7) && !authorization.substring(7).isBlank();
        if (!bearer) {
            throw ModelApiException.missingKey("You didn't provide an API key. Send it in an Authorization header "
                    + "using Bearer auth (Authorization: Bearer YOUR_KEY); the scripted model accepts any non-empty key.");
        }
    }

    private static void requireMethod(String method, String expected, Response response) {
        if (!method.equals(expected)) {
            response.getHeaders().put(HttpHeader.ALLOW, expected);
            throw ModelApiException.methodNotAllowed("Method " + method + " is not allowed here; expected " + expected + ".");
        }
    }

    private static String knownModel(String model) {
        if (!MODELS.contains(model)) {
            throw ModelApiException.unknownModel("The model `" + model + "` does not exist or you do not have access "
                    + "to it. Scripted models: " + String.join(", ", MODELS) + ".");
        }
        return model;
    }

    private void complete(Request request, Response response, Callback callback) throws IOException, InterruptedException {
        ChatRequest chat = ChatRequest.parse(readJson(request));
        String model = knownModel(chat.model());
        long delayMs = switch (model) {
            case "scripted-slow", "scripted-stall" -> delay(request);
            default -> 0;
        };
        switch (model) {
            case "scripted-429" -> {
                String session = request.getHeaders().get(SESSION_HEADER);
                if (rateLimitedSessions.add(session == null ? "" : session)) {
                    response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
                    throw ModelApiException.rateLimited("Rate limit reached for scripted-429 (scripted: the first request "
                            + "of each " + SESSION_HEADER + " is refused). Please try again in 1s.");
                }
            }
            case "scripted-500" -> throw ModelApiException.serverError(
                    "The server had an error while processing your request (scripted-500 always fails).");
            case "scripted-drop" -> {
                if (!chat.stream()) {
                    drop(request, callback);
                    return;
                }
            }
            default -> {
                // scripted-1 answers straight away; the others pace the reply below
            }
        }
        if (model.equals("scripted-slow") || (model.equals("scripted-stall") && !chat.stream())) {
            Thread.sleep(delayMs);
        }

        Reply reply = ModelScript.reply(chat);
        String id = "chatcmpl-scripted-" + responses.incrementAndGet();
        long created = Instant.now().getEpochSecond();
        if (!chat.stream()) {
            send(response, callback, 200, ChatWire.completion(id, created, chat.model(), reply));
            return;
        }
        List<ObjectNode> chunks = ChatWire.chunks(id, created, chat.model(), reply, chat.includeUsage());
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        for (int i = 0; i < chunks.size(); i++) {
            if (model.equals("scripted-drop") && i == 2) {
                // A provider dying mid-answer: the chunks already sent arrive, then the connection is
                // cut. The pause lets them reach the client first; cut at once, a client may see the
                // reset before it has read them, and the script would not be deterministic.
                Thread.sleep(100);
                drop(request, callback);
                return;
            }
            write(response, false, "data: " + JSON.writeValueAsString(chunks.get(i)) + "\n\n");
            if (model.equals("scripted-stall") && i == 0) {
                Thread.sleep(delayMs);
            }
        }
        write(response, true, "data: [DONE]\n\n");
        callback.succeeded();
    }

    private static JsonNode readJson(Request request) throws IOException {
        String body = Content.Source.asString(request, StandardCharsets.UTF_8);
        try {
            return JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ModelApiException.badRequest("body", "request body: expected JSON, " + e.getOriginalMessage());
        }
    }

    private static long delay(Request request) {
        String value = request.getHeaders().get(DELAY_HEADER);
        if (value == null) {
            return DEFAULT_DELAY_MS;
        }
        try {
            long ms = Long.parseLong(value.strip());
            if (ms >= 0 && ms <= MAX_DELAY_MS) {
                return ms;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ModelApiException.badHeader(DELAY_HEADER + ": expected milliseconds from 0 to " + MAX_DELAY_MS
                + ", got '" + value + "'");
    }

    /** Closes the TCP connection under the response, as a crashed provider or a cut network would. */
    private static void drop(Request request, Callback callback) {
        request.getConnectionMetaData().getConnection().getEndPoint().close();
        callback.failed(new EofException("scripted-drop closed the connection"));
    }

    private static void write(Response response, boolean last, String text) throws IOException {
        // One write per SSE event, flushed before the next, so clients see the chunks arrive separately.
        try (Blocker.Callback blocker = Blocker.callback()) {
            response.write(last, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), blocker);
            blocker.block();
        }
    }

    private static void send(Response response, Callback callback, int status, ObjectNode body) {
        String json;
        try {
            json = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            callback.failed(e); // a tree built in memory always serialises; this is a programming error
            return;
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(response, true, json, callback);
    }
}
