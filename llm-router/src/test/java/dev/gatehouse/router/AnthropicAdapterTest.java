package dev.gatehouse.router;

import static dev.gatehouse.router.FakeProvider.ok;
import static dev.gatehouse.router.FakeProvider.sse;
import static dev.gatehouse.router.Fixtures.SECRET;
import static dev.gatehouse.router.Fixtures.fast;
import static dev.gatehouse.router.Fixtures.router;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Fixtures.Streamed;
import dev.gatehouse.router.Fixtures.TestRouter;
import java.math.BigDecimal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Anthropic Messages: request and response translation, stream event translation, usage with cache tokens. */
@Timeout(30)
class AnthropicAdapterTest {
  static final String CONVERSATION = "{'model':'anthropic/claude-sonnet-4-5','temperature':0.5,'stop':'END','user':'u-1',"
      + "'tools':[{'type':'function','function':{'name':'get_weather','description':'Weather','parameters':{'type':'object',"
      + "'properties':{'city':{'type':'string'}},'required':['city']}}}],'tool_choice':'required',"
      + "'messages':["
      + "{'role':'system','content':'Be brief.'},"
      + "{'role':'developer','content':'Use metric units.'},"
      + "{'role':'user','content':'Weather in Paris and Rome?'},"
      + "{'role':'user','content':[{'type':'text','text':'Please.'}]},"
      + "{'role':'assistant','content':'Checking.','tool_calls':["
      + "{'id':'toolu_1','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':\\'Paris\\'}'}},"
      + "{'id':'toolu_2','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':\\'Rome\\'}'}}]},"
      + "{'role':'tool','tool_call_id':'toolu_1','content':'18C'},"
      + "{'role':'tool','tool_call_id':'toolu_2','content':'24C'},"
      + "{'role':'user','content':'Thanks'}]}";

  static final String TOOL_ANSWER = ("{'id':'msg_01','type':'message','role':'assistant','model':'claude-sonnet-4-5-20250929',"
      + "'content':[{'type':'text','text':'Let me check.'},{'type':'tool_use','id':'toolu_9','name':'get_weather','input':{'city':'Oslo'}}],"
      + "'stop_reason':'tool_use','usage':{'input_tokens':100,'cache_read_input_tokens':400,'cache_creation_input_tokens':50,'output_tokens':20}}")
      .replace('\'', '"');

  final FakeProvider server = FakeProvider.start();

  @AfterEach
  void stop() {
    server.close();
  }

  TestRouter anthropic() {
    return router("anthropic", fast(ProviderConfig.of(ProviderKind.ANTHROPIC, ProviderConfig.Key.of(SECRET)).withBaseUrl(server.url())));
  }

  @Test
  void requestMovesSystemToTopLevelMergesTurnsAndMapsToolBlocks() {
    server.reply(ok(TOOL_ANSWER));
    try (TestRouter r = anthropic()) {
      r.complete(CONVERSATION);
      FakeProvider.Recorded req = server.last();
      assertEquals("/v1/messages", req.path());
      assertEquals(SECRET, req.header("x-api-key"));
      assertEquals("2023-06-01", req.header("anthropic-version"));
      ObjectNode body = req.json();
      assertEquals("claude-sonnet-4-5", body.path("model").asText());
      assertEquals("Be brief.\n\nUse metric units.", body.path("system").asText());
      assertEquals(ProviderConfig.DEFAULT_MAX_TOKENS, body.path("max_tokens").asInt(), "max_tokens is required: defaulted");
      assertEquals("END", body.path("stop_sequences").path(0).asText());
      assertEquals("u-1", body.path("metadata").path("user_id").asText());
      assertEquals("any", body.path("tool_choice").path("type").asText());
      assertEquals("get_weather", body.path("tools").path(0).path("name").asText());
      assertEquals("string", body.path("tools").path(0).path("input_schema").path("properties").path("city").path("type").asText());

      JsonNode msgs = body.path("messages");
      assertEquals(3, msgs.size(), "user+user merged, tool+tool+user merged: " + msgs);
      assertEquals("user", msgs.path(0).path("role").asText());
      assertEquals(2, msgs.path(0).path("content").size());
      assertEquals("assistant", msgs.path(1).path("role").asText());
      JsonNode assistant = msgs.path(1).path("content");
      assertEquals("text", assistant.path(0).path("type").asText());
      assertEquals("tool_use", assistant.path(1).path("type").asText());
      assertEquals("toolu_1", assistant.path(1).path("id").asText());
      assertEquals("Paris", assistant.path(1).path("input").path("city").asText());
      JsonNode results = msgs.path(2).path("content");
      assertEquals("user", msgs.path(2).path("role").asText());
      assertEquals("tool_result", results.path(0).path("type").asText());
      assertEquals("toolu_1", results.path(0).path("tool_use_id").asText());
      assertEquals("18C", results.path(0).path("content").asText());
      assertEquals("toolu_2", results.path(1).path("tool_use_id").asText());
      assertEquals("Thanks", results.path(2).path("text").asText());
    }
  }

  @Test
  void toolChoiceAutoAndANamedToolAndParallelOff() {
    server.reply(ok(TOOL_ANSWER), ok(TOOL_ANSWER));
    try (TestRouter r = anthropic()) {
      String tools = "'tools':[{'type':'function','function':{'name':'f'}}],";
      r.complete("{'model':'anthropic/claude-haiku-4-5'," + tools + "'tool_choice':'auto','parallel_tool_calls':false,"
          + "'messages':[{'role':'user','content':'x'}]}");
      JsonNode tc = server.last().json().path("tool_choice");
      assertEquals("auto", tc.path("type").asText());
      assertTrue(tc.path("disable_parallel_tool_use").asBoolean());
      assertEquals("object", server.last().json().path("tools").path(0).path("input_schema").path("type").asText());
      r.complete("{'model':'anthropic/claude-haiku-4-5'," + tools + "'tool_choice':{'type':'function','function':{'name':'f'}},"
          + "'max_tokens':77,'messages':[{'role':'user','content':'x'}]}");
      assertEquals("tool", server.last().json().path("tool_choice").path("type").asText());
      assertEquals("f", server.last().json().path("tool_choice").path("name").asText());
      assertEquals(77, server.last().json().path("max_tokens").asInt());
    }
  }

  @Test
  void responseBecomesAnOpenAiCompletionWithToolCallsAndCacheTokens() {
    server.reply(ok(TOOL_ANSWER));
    try (TestRouter r = anthropic()) {
      ChatResult result = r.complete("{'model':'anthropic/claude-sonnet-4-5','messages':[{'role':'user','content':'Oslo?'}]}");
      ObjectNode msg = result.message();
      assertEquals("Let me check.", msg.path("content").asText());
      assertEquals("toolu_9", msg.path("tool_calls").path(0).path("id").asText());
      assertEquals("get_weather", msg.path("tool_calls").path(0).path("function").path("name").asText());
      assertEquals("{\"city\":\"Oslo\"}", msg.path("tool_calls").path(0).path("function").path("arguments").asText());
      assertEquals("tool_calls", result.finishReason());
      assertEquals(new Usage(550, 20, 400, 50, 570), result.usage(), "prompt includes cache reads and writes");
      JsonNode usage = result.response().path("usage");
      assertEquals(550, usage.path("prompt_tokens").asInt());
      assertEquals(400, usage.path("prompt_tokens_details").path("cached_tokens").asInt());
      // 100 fresh * 3 + 400 cached * 0.30 + 50 written * 3.75 + 20 out * 15, per million
      assertEquals(new BigDecimal("0.0009075"), result.costUsd());
    }
  }

  @Test
  void streamEventsAreTranslatedToChunksWithToolDeltasAndUsage() {
    server.reply(sse(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s1\",\"model\":\"claude-sonnet-4-5-20250929\","
            + "\"usage\":{\"input_tokens\":100,\"cache_read_input_tokens\":400,\"cache_creation_input_tokens\":50,\"output_tokens\":1}}}",
        "event: ping\ndata: {\"type\":\"ping\"}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me \"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"check.\"}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\",\"input\":{}}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":20}}",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}"));
    try (TestRouter r = anthropic()) {
      Streamed s = r.stream("{'model':'anthropic/claude-sonnet-4-5','stream':true,'stream_options':{'include_usage':true},"
          + "'messages':[{'role':'user','content':'Oslo?'}]}");
      assertTrue(server.last().json().path("stream").asBoolean());
      ObjectNode first = s.chunks.get(0);
      assertEquals("assistant", first.path("choices").path(0).path("delta").path("role").asText());
      for (ObjectNode c : s.chunks) {
        assertEquals("msg_s1", c.path("id").asText());
        assertEquals("chat.completion.chunk", c.path("object").asText());
      }
      assertEquals("Let me check.", s.content());
      ObjectNode toolStart = s.chunks.stream().filter(c -> c.path("choices").path(0).path("delta").has("tool_calls")).findFirst().orElseThrow();
      JsonNode call = toolStart.path("choices").path(0).path("delta").path("tool_calls").path(0);
      assertEquals(0, call.path("index").asInt());
      assertEquals("toolu_9", call.path("id").asText());
      assertEquals("get_weather", call.path("function").path("name").asText());
      long finishes = s.chunks.stream().filter(c -> !c.path("choices").path(0).path("finish_reason").isNull()
          && c.path("choices").path(0).has("finish_reason")).count();
      assertEquals(1, finishes, "finish_reason only at the end");
      ObjectNode finish = s.chunks.get(s.chunks.size() - 2);
      assertEquals("tool_calls", finish.path("choices").path(0).path("finish_reason").asText());
      ObjectNode usage = s.chunks.get(s.chunks.size() - 1);
      assertTrue(usage.path("choices").isEmpty());
      assertEquals(570, usage.path("usage").path("total_tokens").asInt());
      assertEquals("{\"city\": \"Oslo\"}", s.result.message().path("tool_calls").path(0).path("function").path("arguments").asText());
      assertEquals(new Usage(550, 20, 400, 50, 570), s.result.usage());
    }
  }

  @Test
  void streamAndNonStreamTokenTotalsAgree() {
    server.reply(ok(TOOL_ANSWER), sse(
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":100,"
            + "\"cache_read_input_tokens\":400,\"cache_creation_input_tokens\":50,\"output_tokens\":1}}}",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":20}}",
        "data: {\"type\":\"message_stop\"}"));
    try (TestRouter r = anthropic()) {
      String req = "{'model':'anthropic/claude-sonnet-4-5','messages':[{'role':'user','content':'x'}]}";
      ChatResult whole = r.complete(req);
      Streamed s = r.stream(req);
      assertEquals(whole.usage(), s.result.usage());
      assertEquals(whole.costUsd(), s.result.costUsd());
      assertEquals("stop", s.result.finishReason());
    }
  }

  @Test
  void anOverloadedErrorEventBeforeContentIsRetried() {
    server.reply(
        sse("data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
        sse("data: {\"type\":\"message_start\",\"message\":{\"id\":\"m2\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}",
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":1}}",
            "data: {\"type\":\"message_stop\"}"));
    try (TestRouter r = anthropic()) {
      Streamed s = r.stream("{'model':'anthropic/claude-sonnet-4-5','messages':[{'role':'user','content':'x'}]}");
      assertEquals("ok", s.content());
      assertEquals("length", s.result.finishReason());
      assertEquals(2, s.result.attempts());
      assertEquals(529, s.result.tried().get(0).status());
    }
  }

  @Test
  void providerOptionsForAnthropicReachItAndOthersDoNot() {
    server.reply(ok(TOOL_ANSWER));
    try (TestRouter r = anthropic()) {
      r.complete("{'model':'anthropic/claude-sonnet-4-5','messages':[{'role':'user','content':'x'}],"
          + "'provider_options':{'anthropic':{'thinking':{'type':'enabled','budget_tokens':1024},'max_tokens':2048,"
          + "'service_tier':'auto'},'gemini':{'safetySettings':[]}}}");
      ObjectNode body = server.last().json();
      assertEquals(1024, body.path("thinking").path("budget_tokens").asInt());
      assertEquals(2048, body.path("max_tokens").asInt(), "an option replaces what the translation wrote");
      assertEquals("auto", body.path("service_tier").asText());
      assertFalse(body.has("safetySettings"), "another kind's options are not sent");
      assertFalse(body.has("provider_options"));
    }
  }

  @Test
  void malformedProviderOptionsAreRefusedNamingTheField() {
    try (TestRouter r = anthropic()) {
      for (String po : new String[] {"'x'", "{'anthropic':1}", "{'claude':{}}", "{'anthropic':{'model':'claude-opus-4-1'}}",
          "{'openai':{'stream':true}}"}) {
        RouterException e = assertThrows(RouterException.class,
            () -> r.complete("{'model':'anthropic/claude-sonnet-4-5','provider_options':" + po + ",'messages':[{'role':'user','content':'x'}]}"));
        assertEquals(400, e.status());
        assertEquals("provider_options", e.param().orElseThrow());
      }
      assertEquals(0, server.count());
    }
  }

  @Test
  void moreThanOneChoiceIsRefusedBeforeCallingAnthropic() {
    try (TestRouter r = anthropic()) {
      RouterException e = assertThrows(RouterException.class,
          () -> r.complete("{'model':'anthropic/claude-sonnet-4-5','n':2,'messages':[{'role':'user','content':'x'}]}"));
      assertEquals(400, e.status());
      assertEquals("n", e.param().orElseThrow());
      assertEquals(0, server.count());
    }
  }

  @Test
  void systemPartsWithCacheControlStayBlocks() {
    server.reply(ok(TOOL_ANSWER));
    try (TestRouter r = anthropic()) {
      r.complete("{'model':'anthropic/claude-sonnet-4-5','messages':[{'role':'system','content':[{'type':'text','text':'long context',"
          + "'cache_control':{'type':'ephemeral'}}]},{'role':'user','content':'x'}]}");
      JsonNode system = server.last().json().path("system");
      assertTrue(system.isArray());
      assertEquals("ephemeral", system.path(0).path("cache_control").path("type").asText());
      assertFalse(server.last().json().has("tool_choice"));
    }
  }
}
