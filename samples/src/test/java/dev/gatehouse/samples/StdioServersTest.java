package dev.gatehouse.samples;

import static dev.gatehouse.samples.TestClients.INITIALIZE;
import static dev.gatehouse.samples.TestClients.INITIALIZED;
import static dev.gatehouse.samples.TestClients.callTool;
import static dev.gatehouse.samples.TestClients.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stdio samples, run as child JVMs: through the SDK's stdio client, and raw where the SDK would hide things. */
@Timeout(20)
class StdioServersTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(8);

    @Test
    void stdioToolsServerListsAndCallsItsTools() {
        try (McpSyncClient client = TestClients.stdio(spec -> spec, "stdio-tools")) {
            List<String> names = client.listTools().tools().stream().map(Tool::name).toList();
            assertEquals(List.of("now", "hash", "base64", "uuid", "json_format", "calc"), names);

            assertEquals("-2.625", text(client.callTool(new CallToolRequest("calc",
                    Map.of("expression", "(1.5 + 2) * -3 / 4")))));
            assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                    text(client.callTool(new CallToolRequest("hash", Map.of("text", "abc")))));
            assertEquals("{\n  \"a\": [],\n  \"b\": {}\n}", text(client.callTool(new CallToolRequest("json_format",
                    Map.of("json", "{\"b\":{},\"a\":[]}", "sort_keys", true)))));

            CallToolResult divided = client.callTool(new CallToolRequest("calc", Map.of("expression", "1 / (2 - 2)")));
            assertTrue(divided.isError());
            assertEquals("division by zero at position 3", text(divided));
        }
    }

    @Test
    void faultyServerEchoesAndTellsItsPid() {
        try (McpSyncClient client = TestClients.stdio(spec -> spec, "faulty")) {
            assertEquals("hi there", text(client.callTool(new CallToolRequest("echo", Map.of("text", "hi there")))));
            assertEquals("slept 10 ms", text(client.callTool(new CallToolRequest("sleep", Map.of("ms", 10)))));

            long pid = Long.parseLong(text(client.callTool(new CallToolRequest("pid", Map.of()))));
            assertNotEquals(ProcessHandle.current().pid(), pid);
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid names a live process");
        }
    }

    @Test
    void addToolAnnouncesTheNewToolToTheClient() throws InterruptedException {
        var announced = new CountDownLatch(1);
        try (McpSyncClient client = TestClients.stdio(spec -> spec.toolsChangeConsumer(tools -> {
            if (tools.stream().anyMatch(t -> t.name().equals("shout"))) {
                announced.countDown();
            }
        }), "faulty")) {
            assertEquals("added tool 'shout'", text(client.callTool(new CallToolRequest("add_tool", Map.of("name", "shout")))));
            assertTrue(announced.await(5, TimeUnit.SECONDS), "no notifications/tools/list_changed with the new tool");
            assertEquals("loud", text(client.callTool(new CallToolRequest("shout", Map.of("text", "loud")))));

            CallToolResult again = client.callTool(new CallToolRequest("add_tool", Map.of("name", "shout")));
            assertTrue(again.isError());
        }
    }

    @Test
    void crashExitsWithTheRequestedCodeWithoutAnswering() throws Exception {
        try (var faulty = new TestClients.RawStdio("faulty")) {
            faulty.send(INITIALIZE);
            assertEquals(1, id(faulty.nextLine(WAIT)));
            // Only now: halting races the SDK's writer, which could otherwise lose the initialize answer too.
            faulty.send(INITIALIZED, callTool(2, "crash", "{\"code\":7}"));
            assertEquals(7, faulty.exitCode(WAIT));
            assertNull(faulty.nextLine(Duration.ofMillis(200)), "the crash call must not be answered");
            assertTrue(faulty.stderr().contains("exiting with code 7"), faulty::stderr);
        }
    }

    @Test
    void noisyServerPrintsJunkBeforeSpeakingTheProtocol() throws Exception {
        try (var faulty = new TestClients.RawStdio("faulty", "--noisy")) {
            faulty.send(INITIALIZE);
            assertEquals(Samples.NOISE, faulty.nextLine(WAIT));
            assertEquals(1, id(faulty.nextLine(WAIT)));
        }
    }

    @Test
    void hangOnStartNeverAnswersInitializeButExitsWhenStdinCloses() throws Exception {
        try (var faulty = new TestClients.RawStdio("faulty", "--hang-on-start")) {
            faulty.send(INITIALIZE);
            assertNull(faulty.nextLine(Duration.ofSeconds(1)), "initialize must stay unanswered");
            faulty.closeStdin();
            assertEquals(0, faulty.exitCode(WAIT));
        }
    }

    @Test
    void stdioServerAnswersPipedRequestsBeforeExitingAndSkipsJunkInput() throws Exception {
        try (var tools = new TestClients.RawStdio("stdio-tools")) {
            tools.send(INITIALIZE, "this is not JSON-RPC", INITIALIZED, callTool(2, "uuid", "{\"count\":3}"));
            tools.closeStdin();
            // Answers may come in any order: the SDK handles requests concurrently.
            Map<Integer, JsonNode> answers = new TreeMap<>();
            for (int i = 0; i < 2; i++) {
                String line = tools.nextLine(WAIT);
                assertNotNull(line, () -> "missing answers after stdin closed; got " + answers + "; stderr:\n" + tools.stderr());
                JsonNode message = JSON.readTree(line);
                answers.put(message.get("id").asInt(), message);
            }
            assertEquals(Set.of(1, 2), answers.keySet());
            assertEquals("gatehouse-stdio-tools", answers.get(1).at("/result/serverInfo/name").asText());
            JsonNode answer = answers.get(2);
            assertFalse(answer.at("/result/isError").asBoolean());
            assertEquals(3, answer.at("/result/content/0/text").asText().lines().count());
            assertEquals(0, tools.exitCode(WAIT));
            assertTrue(tools.stderr().contains("ignoring a line on stdin that is not a JSON-RPC message"), tools::stderr);
        }
    }

    private static int id(String jsonLine) throws Exception {
        assertNotNull(jsonLine, "no line on stdout");
        return JSON.readTree(jsonLine).get("id").asInt();
    }
}
