package dev.gatehouse.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scripted model server, started in-process on a free port and spoken to with the JDK's HTTP client. */
@Timeout(20)
class ScriptedModelTest {

    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String KEY = "Bearer test-key";
    private static final List<String> SAMPLE_TOOLS =
            List.of("tools__calculator", "tools__echo", "tools__hash", "tools__uuid", "tools__now", "tools__calc", "more__calc");

    private static RunningServer server;
    private static HttpClient http;

    /** What a client accumulates from a stream, as the OpenAI SDKs do. */
    record Streamed(String content, List<JsonNode> toolCalls, String finishReason, JsonNode usage, int chunkCount,
            Set<String> ids) {
    }

    @BeforeAll
    static void start() throws IOException {
        server = Samples.startScriptedModel("127.0.0.1", 0);
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterAll
    static void stop() {
        http.close();
        server.close();
    }

    @Test
    void urlIsTheOpenAiBaseUrl() {
        assertEquals(URI.create("http://127.0.0.1:" + server.port() + "/v1"), server.url());
    }

    @Test
    void plainMessagesAreEchoedWithUsage() throws Exception {
        JsonNode response = complete(request("scripted-1", user("hello there")));
        assertTrue(response.path("id").asText().startsWith("chatcmpl-scripted-"), response::toString);
        assertEquals("chat.completion", response.path("object").asText());
        assertEquals("scripted-1", response.path("model").asText());
        JsonNode choice = response.path("choices").get(0);
        assertEquals("assistant", choice.path("message").path("role").asText());
        assertEquals("You said: hello there", choice.path("message").path("content").asText());
        assertTrue(choice.path("message").path("tool_calls").isMissingNode());
        assertEquals("stop", choice.path("finish_reason").asText());
        assertUsage(response.path("usage"), 2, 4);
    }

    @Test
    void streamedTextFollowsOpenAisChunkFormat() throws Exception {
        JsonNode nonStream = complete(request("scripted-1", user("hello there")));
        List<JsonNode> chunks = stream(request("scripted-1", user("hello there")).put("stream", true));

        assertEquals(6, chunks.size(), "role, four words, finish: " + chunks);
        Set<String> ids = new LinkedHashSet<>();
        for (int i = 0; i < chunks.size(); i++) {
            JsonNode chunk = chunks.get(i);
            ids.add(chunk.path("id").asText());
            assertEquals("chat.completion.chunk", chunk.path("object").asText());
            assertEquals("scripted-1", chunk.path("model").asText());
            assertTrue(chunk.path("usage").isMissingNode(), "no usage unless stream_options asks for it");
            JsonNode finish = chunk.path("choices").get(0).path("finish_reason");
            assertEquals(i == chunks.size() - 1, !finish.isNull(), () -> "finish_reason only in the last chunk: " + chunk);
        }
        assertEquals(1, ids.size(), "one id per response");
        assertTrue(ids.iterator().next().startsWith("chatcmpl-scripted-"));
        JsonNode first = chunks.getFirst().path("choices").get(0).path("delta");
        assertEquals("assistant", first.path("role").asText());
        assertEquals("", first.path("content").asText());
        assertEquals(0, chunks.getLast().path("choices").get(0).path("delta").size());

        Streamed streamed = accumulate(chunks);
        assertEquals(nonStream.path("choices").get(0).path("message").path("content").asText(), streamed.content());
        assertEquals(" there", chunks.get(4).path("choices").get(0).path("delta").path("content").asText());
        assertEquals("stop", streamed.finishReason());
    }

    @Test
    void arithmeticBecomesACallToTheFirstToolEndingInCalc() throws Exception {
        ObjectNode request = request("scripted-1", user("What is 12*7?")).set("tools", tools(SAMPLE_TOOLS));

        JsonNode choice = complete(request).path("choices").get(0);
        assertEquals("tool_calls", choice.path("finish_reason").asText());
        assertTrue(choice.path("message").path("content").isNull());
        JsonNode call = choice.path("message").path("tool_calls").get(0);
        assertEquals("call_1", call.path("id").asText());
        assertEquals("function", call.path("type").asText());
        assertEquals("tools__calc", call.path("function").path("name").asText());
        assertEquals("{\"expression\":\"12*7\"}", call.path("function").path("arguments").asText());

        List<JsonNode> chunks = stream(request.put("stream", true));
        JsonNode firstDelta = chunks.getFirst().path("choices").get(0).path("delta");
        assertEquals("assistant", firstDelta.path("role").asText());
        assertTrue(firstDelta.path("content").isNull());
        JsonNode opening = chunks.get(1).path("choices").get(0).path("delta").path("tool_calls").get(0);
        assertEquals(0, opening.path("index").asInt());
        assertEquals("call_1", opening.path("id").asText());
        assertEquals("tools__calc", opening.path("function").path("name").asText());
        JsonNode fragment = chunks.get(2).path("choices").get(0).path("delta").path("tool_calls").get(0);
        assertTrue(fragment.path("id").isMissingNode(), "id, type and name come only in a call's first delta");
        assertTrue(fragment.path("function").path("name").isMissingNode());
        assertEquals("{\"expres", fragment.path("function").path("arguments").asText());

        Streamed streamed = accumulate(chunks);
        assertEquals(List.of(call), streamed.toolCalls());
        assertEquals("tool_calls", streamed.finishReason());
    }

    @Test
    void everyAskInOneMessageBecomesOneOfParallelToolCalls() throws Exception {
        String ask = "what is (1.5 + 2) * 4 and what time is it in Europe/Paris; sha256 of hello, "
                + "then echo 'hi there'. Also give me a uuid";
        ObjectNode request = request("scripted-1", user(ask)).set("tools", tools(SAMPLE_TOOLS));

        JsonNode calls = complete(request).path("choices").get(0).path("message").path("tool_calls");
        assertEquals(List.of("call_1 tools__calc {\"expression\":\"(1.5 + 2) * 4\"}",
                "call_2 tools__now {\"timezone\":\"Europe/Paris\"}",
                "call_3 tools__hash {\"text\":\"hello\"}",
                "call_4 tools__echo {\"text\":\"hi there\"}",
                "call_5 tools__uuid {}"), describe(calls));

        Streamed streamed = accumulate(stream(request.put("stream", true)));
        assertEquals(describe(calls), describe(JSON.valueToTree(streamed.toolCalls())));
    }

    @Test
    void toolChoiceNoneAndParallelToolCallsFalseAreHonoured() throws Exception {
        String ask = "calculate 2+2 and echo hi";
        ObjectNode none = request("scripted-1", user(ask)).put("tool_choice", "none");
        none.set("tools", tools(SAMPLE_TOOLS));
        assertEquals("You said: calculate 2+2 and echo hi", content(complete(none)));

        ObjectNode single = request("scripted-1", user(ask)).put("parallel_tool_calls", false);
        single.set("tools", tools(SAMPLE_TOOLS));
        assertEquals(List.of("call_1 tools__calc {\"expression\":\"2+2\"}"),
                describe(complete(single).path("choices").get(0).path("message").path("tool_calls")));
    }

    @Test
    void asksWithoutAMatchingToolGetATextAnswer() throws Exception {
        ObjectNode request = request("scripted-1", user("what is 12*7")).set("tools", tools(List.of("tools__word_count")));
        JsonNode response = complete(request);
        assertEquals("You said: what is 12*7", content(response));
        assertEquals("stop", response.path("choices").get(0).path("finish_reason").asText());
    }

    @Test
    void toolNamesMatchBySuffixWithOrWithoutASeparator() throws Exception {
        ObjectNode request = request("scripted-1", user("echo x; hash y"))
            .set("tools", tools(List.of("myecho", "gw.echo", "prefixhash")));
        assertEquals(List.of("call_1 gw.echo {\"text\":\"x\"}", "call_2 prefixhash {\"text\":\"y\"}"),
                describe(complete(request).path("choices").get(0).path("message").path("tool_calls")));
    }

    @Test
    void callIdsContinueFromTheToolCallsAlreadyInTheConversation() throws Exception {
        ObjectNode request = request("scripted-1",
                user("what is 1+1"),
                assistantCalling(call("call_1", "tools__calc", "{\"expression\":\"1+1\"}")),
                toolResult("call_1", "2"),
                assistant("calc: 2"),
                user("echo again and the date"));
        request.set("tools", tools(SAMPLE_TOOLS));
        assertEquals(List.of("call_2 tools__echo {\"text\":\"again\"}", "call_3 tools__now {\"timezone\":\"UTC\"}"),
                describe(complete(request).path("choices").get(0).path("message").path("tool_calls")));
    }

    @Test
    void toolResultsAreQuotedInTheFinalAnswer() throws Exception {
        ObjectNode timeResult = JSON.createObjectNode().put("role", "tool").put("tool_call_id", "call_2");
        timeResult.putArray("content").add(JSON.createObjectNode().put("type", "text").put("text", "2025-01-01T00:00Z"));
        ObjectNode request = request("scripted-1",
                user("what is 12*7 and the time"),
                assistantCalling(call("call_1", "tools__calc", "{\"expression\":\"12*7\"}"),
                        call("call_2", "tools__now", "{\"timezone\":\"UTC\"}")),
                toolResult("call_1", "84"),
                timeResult);
        request.set("tools", tools(SAMPLE_TOOLS));

        JsonNode response = complete(request);
        assertEquals("calc: 84\nnow: 2025-01-01T00:00Z", content(response));
        assertEquals("stop", response.path("choices").get(0).path("finish_reason").asText());

        Streamed streamed = accumulate(stream(request.put("stream", true)));
        assertEquals("calc: 84\nnow: 2025-01-01T00:00Z", streamed.content());
        assertEquals(List.of(), streamed.toolCalls());
        assertEquals("stop", streamed.finishReason());
    }

    @Test
    void usageIsTheSameStreamedOrNot() throws Exception {
        ObjectNode text = request("scripted-1", JSON.createObjectNode().put("role", "system").put("content", "be brief"),
                user("one two three"));
        ObjectNode toolCalls = request("scripted-1", user("what is 12*7 and echo a b")).set("tools", tools(SAMPLE_TOOLS));
        for (ObjectNode request : List.of(text, toolCalls)) {
            JsonNode usage = complete(request).path("usage");
            ObjectNode streaming = request.deepCopy().put("stream", true);
            streaming.putObject("stream_options").put("include_usage", true);
            List<JsonNode> chunks = stream(streaming);

            JsonNode last = chunks.getLast();
            assertEquals(0, last.path("choices").size(), "the usage chunk has no choices");
            assertEquals(usage, last.path("usage"));
            for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
                assertTrue(chunk.path("usage").isNull(), () -> "other chunks carry usage: null, " + chunk);
            }
            assertEquals(request == text ? "stop" : "tool_calls",
                    chunks.get(chunks.size() - 2).path("choices").get(0).path("finish_reason").asText());
        }
        assertUsage(complete(text).path("usage"), 5, 5);
        // tool calls: "tools__calc {"expression":"12*7"}" and "tools__echo {"text":"a b"}" are 2 + 3 words
        assertUsage(complete(toolCalls).path("usage"), 7, 5);
    }

    @Test
    void maxTokensCutsTheAnswerWithFinishReasonLength() throws Exception {
        ObjectNode request = request("scripted-1", user("a b c d e")).put("max_completion_tokens", 3);
        JsonNode response = complete(request);
        assertEquals("You said: a", content(response));
        assertEquals("length", response.path("choices").get(0).path("finish_reason").asText());
        assertUsage(response.path("usage"), 5, 3);

        Streamed streamed = accumulate(stream(request.put("stream", true)));
        assertEquals("You said: a", streamed.content());
        assertEquals("length", streamed.finishReason());
    }

    @Test
    void requestsWithoutABearerKeyAreRefused() throws Exception {
        String body = request("scripted-1", user("hi")).toString();
        for (String authorization : new String[] {null, "Bearer ", "Bearer   ", "Basic dXNlcjpwYXNz"}) {
            HttpResponse<String> response = send(post("/chat/completions", body, authorization));
            assertEquals(401, response.statusCode(), String.valueOf(authorization));
            JsonNode error = JSON.readTree(response.body()).path("error");
            assertEquals("invalid_request_error", error.path("type").asText());
            assertEquals("invalid_api_key", error.path("code").asText());
            assertTrue(error.path("message").asText().contains("Authorization: Bearer"), error::toString);
            assertTrue(error.path("param").isNull());
        }
        assertEquals(401, send(get("/models", null)).statusCode());
        assertEquals(200, send(post("/chat/completions", body, "bearer any-key-at-all")).statusCode());
    }

    @Test
    void modelsAreListedAndLookedUp() throws Exception {
        HttpResponse<String> list = send(get("/models", KEY));
        assertEquals(200, list.statusCode());
        JsonNode models = JSON.readTree(list.body());
        assertEquals("list", models.path("object").asText());
        List<String> ids = new ArrayList<>();
        models.path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertEquals(List.of("scripted-1", "scripted-429", "scripted-500", "scripted-slow", "scripted-stall", "scripted-drop"), ids);
        assertEquals("model", models.path("data").get(0).path("object").asText());

        assertEquals("scripted-1", JSON.readTree(send(get("/models/scripted-1", KEY)).body()).path("id").asText());
        HttpResponse<String> unknown = send(get("/models/gpt-4o", KEY));
        assertEquals(404, unknown.statusCode());
        assertEquals("model_not_found", JSON.readTree(unknown.body()).path("error").path("code").asText());
    }

    @Test
    void scripted429RefusesTheFirstRequestOfEachSession() throws Exception {
        String body = request("scripted-429", user("hi")).toString();
        HttpResponse<String> first = send(post("/chat/completions", body, KEY).header("X-Scripted-Session", "s-429-a"));
        assertEquals(429, first.statusCode());
        assertEquals("1", first.headers().firstValue("Retry-After").orElseThrow());
        JsonNode error = JSON.readTree(first.body()).path("error");
        assertEquals("rate_limit_exceeded", error.path("code").asText());
        assertEquals("requests", error.path("type").asText());

        HttpResponse<String> retry = send(post("/chat/completions", body, KEY).header("X-Scripted-Session", "s-429-a"));
        assertEquals(200, retry.statusCode());
        assertEquals("You said: hi", content(JSON.readTree(retry.body())));

        assertEquals(429, send(post("/chat/completions", body, KEY).header("X-Scripted-Session", "s-429-b")).statusCode());
    }

    @Test
    void scripted500AlwaysFailsWithAnOpenAiError() throws Exception {
        ObjectNode request = request("scripted-500", user("hi"));
        for (String body : List.of(request.toString(), request.put("stream", true).toString())) {
            HttpResponse<String> response = send(post("/chat/completions", body, KEY));
            assertEquals(500, response.statusCode());
            assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
            assertEquals("server_error", JSON.readTree(response.body()).path("error").path("type").asText());
        }
    }

    @Test
    void scriptedSlowWaitsBeforeTheFirstByte() throws Exception {
        String body = request("scripted-slow", user("hi")).toString();
        long start = System.nanoTime();
        HttpResponse<String> response = send(post("/chat/completions", body, KEY).header("X-Scripted-Delay-Ms", "400"));
        assertEquals(200, response.statusCode());
        assertTrue(System.nanoTime() - start >= 400_000_000L, "answered before the scripted delay");
        assertEquals("You said: hi", content(JSON.readTree(response.body())));

        var impatient = post("/chat/completions", body, KEY).header("X-Scripted-Delay-Ms", "3000")
            .timeout(Duration.ofMillis(200));
        assertThrows(HttpTimeoutException.class, () -> send(impatient));

        HttpResponse<String> bad = send(post("/chat/completions", body, KEY).header("X-Scripted-Delay-Ms", "soon"));
        assertEquals(400, bad.statusCode());
        assertEquals("X-Scripted-Delay-Ms: expected milliseconds from 0 to 60000, got 'soon'",
                JSON.readTree(bad.body()).path("error").path("message").asText());
    }

    @Test
    void scriptedStallPausesTheStreamAfterItsFirstChunk() throws Exception {
        String body = request("scripted-stall", user("hi")).put("stream", true).toString();
        long start = System.nanoTime();
        HttpResponse<InputStream> response = http.send(post("/chat/completions", body, KEY)
            .header("X-Scripted-Delay-Ms", "500").build(), HttpResponse.BodyHandlers.ofInputStream());
        try (var events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String first = events.readLine();
            assertTrue(first.startsWith("data: {"), first);
            assertTrue(System.nanoTime() - start < 400_000_000L, "the first chunk should not wait");
            List<String> rest = events.lines().filter(line -> !line.isEmpty()).toList();
            assertTrue(System.nanoTime() - start >= 500_000_000L, "the rest should wait for the stall");
            assertEquals("data: [DONE]", rest.getLast());
        }
    }

    @Test
    void scriptedDropClosesTheConnection() throws Exception {
        ObjectNode request = request("scripted-drop", user("hello there"));
        assertThrows(IOException.class, () -> send(post("/chat/completions", request.toString(), KEY)));

        HttpResponse<InputStream> response = http.send(post("/chat/completions", request.put("stream", true).toString(), KEY)
            .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        var received = new StringBuilder();
        try (InputStream in = response.body()) {
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
            }
        } catch (IOException expected) {
            // a cut chunked body: what a client of a crashed provider sees
        }
        long events = received.toString().lines().filter(line -> line.startsWith("data: ")).count();
        assertEquals(2, events, received::toString);
        assertFalse(received.toString().contains("[DONE]"));
    }

    @Test
    void malformedRequestsGetOpenAiErrorsThatSayWhatWasExpected() throws Exception {
        assertError(send(post("/chat/completions", "{not json", KEY)), 400, "body", "request body: expected JSON");
        assertError(send(post("/chat/completions", "{\"model\":\"scripted-1\"}", KEY)), 400, "messages",
                "messages: expected a non-empty array of messages, got nothing");
        assertError(send(post("/chat/completions", "{\"model\":\"scripted-1\",\"messages\":[{\"role\":\"robot\"}]}", KEY)),
                400, "messages[0].role", "messages[0].role: expected one of system, developer, user, assistant, tool");
        assertError(send(post("/chat/completions", request("scripted-1", user("hi")).put("stream", "yes").toString(), KEY)),
                400, "stream", "stream: expected true or false");
        assertError(send(post("/chat/completions", request("gpt-4o", user("hi")).toString(), KEY)), 404, "model",
                "The model `gpt-4o` does not exist");
        HttpResponse<String> wrongMethod = send(get("/chat/completions", KEY));
        assertError(wrongMethod, 405, null, "Method GET is not allowed here; expected POST");
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElseThrow());
        assertError(send(get("/images/generations", KEY)), 404, null, "Unknown request URL: GET /v1/images/generations");
        assertError(send(get("/embeddings", KEY)), 405, null, "Method GET is not allowed here; expected POST");
        assertError(send(post("/embeddings", "{\"model\":\"scripted-1\"}", KEY)), 400, "input", "'input' is required");
    }

    @Test
    void closedServerNoLongerAnswers() throws Exception {
        RunningServer other = Samples.startScriptedModel("127.0.0.1", 0);
        var request = HttpRequest.newBuilder(URI.create(other.url() + "/models")).header("Authorization", KEY).build();
        assertEquals(200, http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode());
        other.close();
        other.close(); // idempotent
        assertThrows(IOException.class, () -> http.send(request, HttpResponse.BodyHandlers.ofString()));
    }

    // --- requests

    private static ObjectNode request(String model, ObjectNode... messages) {
        ObjectNode request = JSON.createObjectNode().put("model", model);
        ArrayNode list = request.putArray("messages");
        for (ObjectNode message : messages) {
            list.add(message);
        }
        return request;
    }

    private static ObjectNode user(String text) {
        return JSON.createObjectNode().put("role", "user").put("content", text);
    }

    private static ObjectNode assistant(String text) {
        return JSON.createObjectNode().put("role", "assistant").put("content", text);
    }

    private static ObjectNode assistantCalling(ObjectNode... calls) {
        ObjectNode message = JSON.createObjectNode().put("role", "assistant").putNull("content");
        ArrayNode list = message.putArray("tool_calls");
        for (ObjectNode call : calls) {
            list.add(call);
        }
        return message;
    }

    private static ObjectNode call(String id, String name, String arguments) {
        ObjectNode call = JSON.createObjectNode().put("id", id).put("type", "function");
        call.putObject("function").put("name", name).put("arguments", arguments);
        return call;
    }

    private static ObjectNode toolResult(String callId, String content) {
        return JSON.createObjectNode().put("role", "tool").put("tool_call_id", callId).put("content", content);
    }

    private static ArrayNode tools(List<String> names) {
        ArrayNode tools = JSON.createArrayNode();
        for (String name : names) {
            ObjectNode function = tools.addObject().put("type", "function").putObject("function");
            function.put("name", name).put("description", "sample tool " + name);
            function.putObject("parameters").put("type", "object");
        }
        return tools;
    }

    private static HttpRequest.Builder post(String path, String body, String authorization) {
        var builder = HttpRequest.newBuilder(URI.create(server.url() + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        return builder;
    }

    private static HttpRequest.Builder get(String path, String authorization) {
        var builder = HttpRequest.newBuilder(URI.create(server.url() + path)).GET();
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        return builder;
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    // --- responses

    private static JsonNode complete(ObjectNode request) throws Exception {
        HttpResponse<String> response = send(post("/chat/completions", request.toString(), KEY));
        assertEquals(200, response.statusCode(), response::body);
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
        return JSON.readTree(response.body());
    }

    /** The chunks of an SSE response, checking the framing and the final {@code [DONE]}. */
    private static List<JsonNode> stream(ObjectNode request) throws Exception {
        HttpResponse<String> response = send(post("/chat/completions", request.toString(), KEY));
        assertEquals(200, response.statusCode(), response::body);
        assertEquals("text/event-stream;charset=utf-8",
                response.headers().firstValue("Content-Type").orElseThrow().replace(" ", "").toLowerCase());
        String[] events = response.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        List<JsonNode> chunks = new ArrayList<>();
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: "), events[i]);
            chunks.add(JSON.readTree(events[i].substring("data: ".length())));
        }
        return chunks;
    }

    /** Accumulates deltas the way OpenAI's SDKs do: content appended, tool calls merged by index. */
    private static Streamed accumulate(List<JsonNode> chunks) {
        var content = new StringBuilder();
        Map<Integer, ObjectNode> calls = new TreeMap<>();
        String finishReason = null;
        JsonNode usage = null;
        Set<String> ids = new LinkedHashSet<>();
        for (JsonNode chunk : chunks) {
            ids.add(chunk.path("id").asText());
            if (chunk.hasNonNull("usage")) {
                usage = chunk.path("usage");
            }
            for (JsonNode choice : chunk.path("choices")) {
                JsonNode delta = choice.path("delta");
                if (delta.path("content").isTextual()) {
                    content.append(delta.path("content").asText());
                }
                for (JsonNode part : delta.path("tool_calls")) {
                    ObjectNode call = calls.computeIfAbsent(part.path("index").asInt(), i -> {
                        ObjectNode fresh = JSON.createObjectNode();
                        fresh.putObject("function").put("arguments", "");
                        return fresh;
                    });
                    if (part.has("id")) {
                        call.put("id", part.path("id").asText());
                        call.put("type", part.path("type").asText());
                        ((ObjectNode) call.path("function")).put("name", part.path("function").path("name").asText());
                    }
                    ObjectNode function = (ObjectNode) call.path("function");
                    function.put("arguments", function.path("arguments").asText() + part.path("function").path("arguments").asText(""));
                }
                if (!choice.path("finish_reason").isNull()) {
                    finishReason = choice.path("finish_reason").asText();
                }
            }
        }
        List<JsonNode> toolCalls = new ArrayList<>();
        for (ObjectNode call : calls.values()) {
            // Same key order as the non-streamed message: id, type, function{name, arguments}.
            ObjectNode ordered = JSON.createObjectNode().put("id", call.path("id").asText()).put("type", call.path("type").asText());
            ordered.putObject("function").put("name", call.path("function").path("name").asText())
                .put("arguments", call.path("function").path("arguments").asText());
            toolCalls.add(ordered);
        }
        return new Streamed(content.toString(), toolCalls, finishReason, usage, chunks.size(), ids);
    }

    private static String content(JsonNode response) {
        return response.path("choices").get(0).path("message").path("content").asText();
    }

    private static List<String> describe(JsonNode toolCalls) {
        List<String> described = new ArrayList<>();
        for (JsonNode call : toolCalls) {
            described.add(call.path("id").asText() + " " + call.path("function").path("name").asText() + " "
                    + call.path("function").path("arguments").asText());
        }
        return described;
    }

    private static void assertUsage(JsonNode usage, int prompt, int completion) {
        assertEquals(prompt, usage.path("prompt_tokens").asInt(), usage::toString);
        assertEquals(completion, usage.path("completion_tokens").asInt(), usage::toString);
        assertEquals(prompt + completion, usage.path("total_tokens").asInt(), usage::toString);
    }

    private static void assertError(HttpResponse<String> response, int status, String param, String messageStart)
            throws IOException {
        assertEquals(status, response.statusCode(), response::body);
        JsonNode error = JSON.readTree(response.body()).path("error");
        assertTrue(error.path("message").asText().startsWith(messageStart), error::toString);
        assertEquals("invalid_request_error", error.path("type").asText());
        if (param == null) {
            assertTrue(error.path("param").isNull(), error::toString);
        } else {
            assertEquals(param, error.path("param").asText());
        }
    }
}
