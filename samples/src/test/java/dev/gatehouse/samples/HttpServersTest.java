package dev.gatehouse.samples;

import static dev.gatehouse.samples.TestClients.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.ClientCapabilities;
import io.modelcontextprotocol.spec.McpSchema.CompleteRequest;
import io.modelcontextprotocol.spec.McpSchema.CreateMessageResult;
import io.modelcontextprotocol.spec.McpSchema.GetPromptRequest;
import io.modelcontextprotocol.spec.McpSchema.ProgressNotification;
import io.modelcontextprotocol.spec.McpSchema.PromptReference;
import io.modelcontextprotocol.spec.McpSchema.ReadResourceRequest;
import io.modelcontextprotocol.spec.McpSchema.ResourceContents;
import io.modelcontextprotocol.spec.McpSchema.Role;
import io.modelcontextprotocol.spec.McpSchema.SubscribeRequest;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.TextResourceContents;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Streamable-HTTP samples, started in-process on free ports and driven by the SDK's client. */
@Timeout(20)
class HttpServersTest {

    private static final String LOOPBACK = "127.0.0.1";

    @Test
    void httpToolsServerListsAndCallsItsTools() throws IOException {
        try (RunningServer server = Samples.startHttpTools(LOOPBACK, 0);
                McpSyncClient client = TestClients.http(server.url(), spec -> spec)) {
            assertNotEquals(0, server.port());
            assertEquals(URI.create("http://127.0.0.1:" + server.port() + "/mcp"), server.url());

            List<String> names = client.listTools().tools().stream().map(Tool::name).toList();
            assertEquals(List.of("word_count", "slugify", "kv_set", "kv_get", "kv_list", "kv_delete", "sleep_ms"), names);

            CallToolResult counted = client.callTool(new CallToolRequest("word_count",
                    Map.of("text", "Hello, brave new world.\nSecond line")));
            assertFalse(counted.isError());
            assertEquals(6, ((Map<?, ?>) counted.structuredContent()).get("words"));
            assertEquals(2, ((Map<?, ?>) counted.structuredContent()).get("lines"));

            assertEquals("creme-brulee-2nd-try", text(client.callTool(new CallToolRequest("slugify",
                    Map.of("text", "Crème Brûlée, 2nd try!")))));
        }
    }

    @Test
    void kvNotebookIsSharedBetweenSessions() throws IOException {
        try (RunningServer server = Samples.startHttpTools(LOOPBACK, 0);
                McpSyncClient writer = TestClients.http(server.url(), spec -> spec);
                McpSyncClient reader = TestClients.http(server.url(), spec -> spec)) {
            writer.callTool(new CallToolRequest("kv_set", Map.of("key", "greeting", "value", "hello")));
            writer.callTool(new CallToolRequest("kv_set", Map.of("key", "goodbye", "value", "bye")));

            assertEquals("hello", text(reader.callTool(new CallToolRequest("kv_get", Map.of("key", "greeting")))));
            assertEquals("goodbye\ngreeting", text(reader.callTool(new CallToolRequest("kv_list", Map.of("prefix", "g")))));

            CallToolResult missing = reader.callTool(new CallToolRequest("kv_get", Map.of("key", "nothing")));
            assertTrue(missing.isError());
            assertEquals("no value stored under 'nothing'", text(missing));
        }
    }

    @Test
    void sleepMsSendsProgressWhenAsked() throws Exception {
        List<ProgressNotification> progress = new CopyOnWriteArrayList<>();
        try (RunningServer server = Samples.startHttpTools(LOOPBACK, 0);
                McpSyncClient client = TestClients.http(server.url(), spec -> spec.progressConsumer(progress::add))) {
            CallToolResult slept = client.callTool(CallToolRequest.builder()
                .name("sleep_ms")
                .arguments(Map.of("ms", 1_200))
                .progressToken("nap")
                .build());
            assertEquals("slept 1200 ms", text(slept));
            // Notifications travel ahead of the result on the same SSE stream, but reach the consumer on
            // another thread: give them a moment.
            for (int i = 0; i < 100 && progress.size() < 2; i++) {
                Thread.sleep(20);
            }
            assertEquals(2, progress.size(), () -> "one notification per started second: " + progress);
            assertEquals("nap", progress.get(1).progressToken());
            assertEquals(1_200.0, progress.get(1).progress());
            assertEquals(1_200.0, progress.get(1).total());

            CallToolResult tooLong = client.callTool(new CallToolRequest("sleep_ms", Map.of("ms", 60_000)));
            assertTrue(tooLong.isError(), "the input schema caps ms at 30000");
        }
    }

    @Test
    void conformanceServerServesToolsResourcesPromptsAndCompletions() throws IOException {
        try (RunningServer server = Samples.startConformance(LOOPBACK, 0);
                McpSyncClient client = TestClients.http(server.url(), spec -> spec)) {
            List<String> names = client.listTools().tools().stream().map(Tool::name).toList();
            assertTrue(names.containsAll(List.of("test_simple_text", "test_image_content", "test_audio_content",
                    "test_embedded_resource", "test_multiple_content_types", "test_tool_with_logging",
                    "test_error_handling", "test_tool_with_progress", "test_sampling", "test_elicitation",
                    "test_elicitation_sep1034_defaults", "test_elicitation_sep1330_enums", "json_schema_2020_12_tool")),
                    names::toString);
            assertEquals("This is a simple text response for testing.",
                    text(client.callTool(new CallToolRequest("test_simple_text", Map.of()))));
            assertTrue(client.callTool(new CallToolRequest("test_error_handling", Map.of())).isError());

            var template = client.readResource(new ReadResourceRequest("test://template/42/data"));
            var json = (TextResourceContents) template.contents().get(0);
            assertEquals("{\"id\":\"42\",\"templateTest\":true,\"data\":\"Data for ID: 42\"}", json.text());
            assertEquals("application/json", json.mimeType());

            var prompt = client.getPrompt(new GetPromptRequest("test_prompt_with_arguments",
                    Map.of("arg1", "hello", "arg2", "world")));
            assertEquals("Prompt with arguments: arg1='hello', arg2='world'",
                    ((TextContent) prompt.messages().get(0).content()).text());

            var completion = client.completeCompletion(new CompleteRequest(new PromptReference("test_prompt_with_arguments"),
                    new CompleteRequest.CompleteArgument("arg1", "pa")));
            assertEquals(List.of("paris", "park", "party"), completion.completion().values());
        }
    }

    @Test
    void conformanceServerAsksTheClientForSampling() throws IOException {
        try (RunningServer server = Samples.startConformance(LOOPBACK, 0);
                McpSyncClient client = TestClients.http(server.url(), spec -> spec
                    .capabilities(ClientCapabilities.builder().sampling().build())
                    .sampling(request -> CreateMessageResult.builder(Role.ASSISTANT,
                            "echo: " + ((TextContent) request.messages().get(0).content()).text(), "test-model").build()))) {
            CallToolResult result = client.callTool(new CallToolRequest("test_sampling", Map.of("prompt", "ping?")));
            assertEquals("LLM response: echo: ping?", text(result));
        }
    }

    @Test
    void touchingTheWatchedResourceNotifiesSubscribers() throws Exception {
        var updated = new CountDownLatch(1);
        List<ResourceContents> seen = new CopyOnWriteArrayList<>();
        try (RunningServer server = Samples.startConformance(LOOPBACK, 0);
                McpSyncClient client = TestClients.http(server.url(), spec -> spec.resourcesUpdateConsumer(contents -> {
                    seen.addAll(contents);
                    updated.countDown();
                }))) {
            client.subscribeResource(new SubscribeRequest("test://watched-resource"));
            assertEquals("test://watched-resource is now at revision 2",
                    text(client.callTool(new CallToolRequest("touch_watched_resource", Map.of()))));
            assertTrue(updated.await(5, TimeUnit.SECONDS), "no notifications/resources/updated arrived");
            assertEquals("Watched resource content, revision 2", ((TextResourceContents) seen.get(0)).text());
        }
    }

    @Test
    void foreignOriginsAreRejectedAndLoopbackOnesAccepted() throws Exception {
        try (RunningServer server = Samples.startConformance(LOOPBACK, 0);
                HttpClient http = HttpClient.newHttpClient()) {
            assertEquals(403, initialize(http, server.url(), "http://evil.example.com").statusCode());
            HttpResponse<String> ok = initialize(http, server.url(), "http://localhost:" + server.port());
            assertEquals(200, ok.statusCode(), ok::body);
            assertTrue(ok.headers().firstValue("mcp-session-id").isPresent());
        }
    }

    @Test
    void closeReleasesThePortAndEveryThreadThatWouldKeepTheJvmAlive() throws Exception {
        RunningServer server = Samples.startHttpTools(LOOPBACK, 0);
        try (McpSyncClient client = TestClients.http(server.url(), spec -> spec)) {
            client.ping();
            server.close();
        }
        server.close(); // idempotent
        try (HttpClient http = HttpClient.newHttpClient()) {
            assertThrows(IOException.class, () -> initialize(http, server.url(), null));
        }
        // Jetty's pool and, unless disabled, the SDK's session sweeper run on non-daemon threads.
        List<String> lingering = List.of();
        for (int i = 0; i < 100; i++) {
            lingering = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !t.isDaemon())
                .map(Thread::getName)
                .filter(name -> name.startsWith("samples-") || name.contains("session-sweeper"))
                .toList();
            if (lingering.isEmpty()) {
                break;
            }
            Thread.sleep(20);
        }
        assertEquals(List.of(), lingering);
    }

    @Test
    void startingOnABusyPortFailsWithAnIOException() throws Exception {
        try (var taken = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            assertThrows(IOException.class, () -> Samples.startConformance(LOOPBACK, taken.getLocalPort()));
        }
    }

    private static HttpResponse<String> initialize(HttpClient http, URI url, String origin) throws Exception {
        var request = HttpRequest.newBuilder(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofString("""
                    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",\
                    "capabilities":{},"clientInfo":{"name":"origin-test","version":"1"}}}"""));
        if (origin != null) {
            request.header("Origin", origin);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
