package dev.gatehouse.router;

import static dev.gatehouse.router.FakeProvider.json;
import static dev.gatehouse.router.FakeProvider.ok;
import static dev.gatehouse.router.FakeProvider.sse;
import static dev.gatehouse.router.Fixtures.HELLO;
import static dev.gatehouse.router.Fixtures.SECRET;
import static dev.gatehouse.router.Fixtures.chunk;
import static dev.gatehouse.router.Fixtures.completion;
import static dev.gatehouse.router.Fixtures.fast;
import static dev.gatehouse.router.Fixtures.openAi;
import static dev.gatehouse.router.Fixtures.router;
import static dev.gatehouse.router.Fixtures.usageChunk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Fixtures.Streamed;
import dev.gatehouse.router.Fixtures.TestRouter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** OpenAI's wire format and its family: passthrough, streaming normalisation, Azure and Mistral quirks. */
@Timeout(30)
class OpenAiAdapterTest {
  final FakeProvider server = FakeProvider.start();

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void nonStreamCallForwardsTheBodyWithUnknownFieldsAndTheProviderModel() {
    server.reply(ok(completion("hello", 12, 3)));
    try (TestRouter r = router("openai", openAi(server))) {
      ChatResult result = r.complete("{'model':'openai/gpt-4o-mini','messages':[{'role':'user','content':'hi'}],"
          + "'temperature':0.2,'logit_bias':{'50256':-100},'x_custom':{'a':1},'fallbacks':['openai/gpt-4o'],'stream':false,"
          + "'provider_options':{'openai':{'service_tier':'flex','temperature':0.3},'anthropic':{'top_k':5}}}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/v1/chat/completions", req.path());
      assertEquals("Bearer " + SECRET, req.header("Authorization"));
      ObjectNode body = req.json();
      assertEquals("gpt-4o-mini", body.path("model").asText());
      assertEquals(1, body.path("x_custom").path("a").asInt(), "unknown fields reach OpenAI-compatible providers");
      assertEquals(-100, body.path("logit_bias").path("50256").asInt());

      assertFalse(body.has("fallbacks"), "the router's own field is consumed");
      assertFalse(body.has("provider_options"), "so is provider_options");
      assertEquals("flex", body.path("service_tier").asText(), "this kind's options are set");
      assertEquals(0.3, body.path("temperature").asDouble(), 1e-9, "replacing the request's own value");
      assertFalse(body.has("top_k"), "another kind's options are not sent");
      assertFalse(body.has("stream"));
      assertEquals("hello", result.message().path("content").asText());
      assertEquals(new Route("openai", "gpt-4o-mini", "key-1"), result.route());
      assertEquals(Usage.of(12, 3, 0, 0), result.usage());
      assertEquals(1, result.attempts());
    }
  }

  @Test
  void streamIsDeliveredInOpenAiShapeWithTheUsageChunkWhenAsked() {
    server.reply(sse(
        chunk("{'role':'assistant','content':''}", null),
        chunk("{'content':'Hel'}", null),
        chunk("{'content':'lo'}", null),
        chunk("{}", "stop"),
        usageChunk(9, 2),
        "data: [DONE]"));
    try (TestRouter r = router("openai", openAi(server))) {
      Streamed s = r.stream("{'model':'openai/gpt-4o-mini','stream':true,'stream_options':{'include_usage':true},"
          + "'messages':[{'role':'user','content':'hi'}]}");
      ObjectNode sent = server.last().json();
      assertTrue(sent.path("stream").asBoolean());
      assertTrue(sent.path("stream_options").path("include_usage").asBoolean());
      assertEquals(5, s.chunks.size());
      assertEquals("assistant", s.chunks.get(0).path("choices").path(0).path("delta").path("role").asText());
      for (ObjectNode c : s.chunks) {
        assertEquals("chatcmpl-9", c.path("id").asText(), "one id on every chunk");
      }
      assertEquals("Hello", s.content());
      assertEquals("stop", s.chunks.get(3).path("choices").path(0).path("finish_reason").asText());
      ObjectNode usage = s.chunks.get(4);
      assertTrue(usage.path("choices").isArray() && usage.path("choices").isEmpty());
      assertEquals(11, usage.path("usage").path("total_tokens").asInt());
      assertEquals(Usage.of(9, 2, 0, 0), s.result.usage());
      assertEquals("Hello", s.result.message().path("content").asText());
      assertEquals(5, s.result.chunks());
    }
  }

  @Test
  void usageIsAskedForEvenWhenTheClientDidNotButItsChunkIsNotDelivered() {
    server.reply(sse(chunk("{'role':'assistant','content':'ok'}", null), chunk("{}", "stop"), usageChunk(4, 1), "data: [DONE]"));
    try (TestRouter r = router("openai", openAi(server))) {
      Streamed s = r.stream("{'model':'openai/gpt-4o-mini','stream':true,'messages':[{'role':'user','content':'hi'}]}");
      assertTrue(server.last().json().path("stream_options").path("include_usage").asBoolean());
      assertEquals(2, s.chunks.size());
      assertFalse(s.chunks.get(0).has("usage"));
      assertEquals(Usage.of(4, 1, 0, 0), s.result.usage());
      assertTrue(s.result.costUsd().signum() > 0, "gpt-4o-mini has a default price");
    }
  }

  @Test
  void toolCallDeltasAreAssembledByIndex() {
    server.reply(sse(
        chunk("{'role':'assistant','content':null,'tool_calls':[{'index':0,'id':'call_a','type':'function','function':{'name':'get_weather','arguments':''}}]}", null),
        chunk("{'tool_calls':[{'index':0,'function':{'arguments':'{\\'city\\':'}}]}", null),
        chunk("{'tool_calls':[{'index':0,'function':{'arguments':'\\'Paris\\'}'}}]}", null),
        chunk("{'tool_calls':[{'index':1,'id':'call_b','type':'function','function':{'name':'get_time','arguments':'{}'}}]}", null),
        chunk("{}", "tool_calls"),
        usageChunk(20, 10),
        "data: [DONE]"));
    try (TestRouter r = router("openai", openAi(server))) {
      Streamed s = r.stream("{'model':'openai/gpt-4o-mini','stream':true,'messages':[{'role':'user','content':'weather?'}]}");
      var calls = s.result.message().path("tool_calls");
      assertEquals(2, calls.size());
      assertEquals("call_a", calls.path(0).path("id").asText());
      assertEquals("get_weather", calls.path(0).path("function").path("name").asText());
      assertEquals("{\"city\":\"Paris\"}", calls.path(0).path("function").path("arguments").asText());
      assertEquals("get_time", calls.path(1).path("function").path("name").asText());
      assertEquals("tool_calls", s.result.finishReason());
      assertTrue(s.result.message().path("content").isNull());
    }
  }

  @Test
  void streamAndNonStreamReportTheSameUsage() {
    server.reply(ok(completion("hi", 30, 7)),
        sse(chunk("{'role':'assistant','content':'hi'}", null), chunk("{}", "stop"), usageChunk(30, 7), "data: [DONE]"));
    try (TestRouter r = router("openai", openAi(server))) {
      Usage whole = r.complete(HELLO).usage();
      Usage streamed = r.stream("{'model':'openai/gpt-4o-mini','stream':true,'messages':[{'role':'user','content':'hi'}]}").result.usage();
      assertEquals(whole, streamed);
    }
  }

  @Test
  void azureUsesTheDeploymentUrlApiVersionAndApiKeyHeader() {
    server.reply(ok(completion("hi", 1, 1)));
    ProviderConfig azure = fast(ProviderConfig.of(ProviderKind.AZURE, server.url(), ProviderConfig.Key.of(SECRET))
        .withAzure("2024-10-21", Map.of("gpt-4o", "prod-gpt4o")));
    try (TestRouter r = router("azure", azure)) {
      r.complete("{'model':'azure/gpt-4o','messages':[{'role':'user','content':'hi'}]}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/openai/deployments/prod-gpt4o/chat/completions", req.path());
      assertEquals("api-version=2024-10-21", req.query());
      assertEquals(SECRET, req.header("api-key"));
      assertEquals(null, req.header("Authorization"));
    }
  }

  @Test
  void mistralGetsAnyForRequiredNineCharacterToolIdsAndNoStreamOptions() {
    server.reply(sse(chunk("{'role':'assistant','content':'ok'}", null),
        ("data: {'id':'x','object':'chat.completion.chunk','created':1,'model':'mistral-large','choices':[{'index':0,'delta':{},"
            + "'finish_reason':'stop'}],'usage':{'prompt_tokens':5,'completion_tokens':1,'total_tokens':6}}").replace('\'', '"'),
        "data: [DONE]"));
    ProviderConfig mistral = fast(ProviderConfig.of(ProviderKind.MISTRAL, ProviderConfig.Key.of(SECRET)).withBaseUrl(server.url() + "/v1"));
    try (TestRouter r = router("mistral", mistral)) {
      Streamed s = r.stream("{'model':'mistral/mistral-large-latest','stream':true,'stream_options':{'include_usage':true},"
          + "'tool_choice':'required','seed':7,'max_completion_tokens':50,"
          + "'tools':[{'type':'function','function':{'name':'f','parameters':{'type':'object','properties':{}}}}],"
          + "'messages':[{'role':'user','content':'hi'},"
          + "{'role':'assistant','content':null,'tool_calls':[{'id':'call_from_openai_123','type':'function','function':{'name':'f','arguments':'{}'}}]},"
          + "{'role':'tool','tool_call_id':'call_from_openai_123','content':'done'}]}");
      ObjectNode sent = server.last().json();
      assertEquals("any", sent.path("tool_choice").asText());
      assertFalse(sent.has("stream_options"), "Mistral rejects stream_options");
      assertEquals(7, sent.path("random_seed").asInt());
      assertFalse(sent.has("seed"));
      assertEquals(50, sent.path("max_tokens").asInt());
      String id = sent.path("messages").path(1).path("tool_calls").path(0).path("id").asText();
      assertTrue(id.matches("[A-Za-z0-9]{9}"), id);
      assertEquals(id, sent.path("messages").path(2).path("tool_call_id").asText(), "ids stay paired");
      // Mistral's usage rides on its last content chunk; the client still gets a separate usage chunk.
      ObjectNode last = s.chunks.get(s.chunks.size() - 1);
      assertTrue(last.path("choices").isEmpty());
      assertEquals(6, last.path("usage").path("total_tokens").asInt());
      assertTrue(s.chunks.get(s.chunks.size() - 2).path("usage").isNull());
      assertEquals(Usage.of(5, 1, 0, 0), s.result.usage());
    }
  }

  @Test
  void compatibleServersWithoutKeysAreCalledWithoutAuthorization() {
    server.reply(ok(completion("local", 2, 2)));
    ProviderConfig vllm = fast(ProviderConfig.of(ProviderKind.VLLM).withBaseUrl(server.url() + "/v1"));
    try (TestRouter r = router("local", vllm)) {
      ChatResult result = r.complete("{'model':'local/meta-llama/Llama-3.1-8B-Instruct','messages':[{'role':'user','content':'hi'}]}");
      assertEquals(null, server.last().header("Authorization"));
      assertEquals("meta-llama/Llama-3.1-8B-Instruct", server.last().json().path("model").asText());
      assertEquals("none", result.route().keyId());
      assertEquals(0, result.costUsd().signum(), "an unpriced local model costs nothing");
    }
  }

  @Test
  void anErrorEventBeforeAnyContentIsRetried() {
    server.reply(sse("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"),
        sse(chunk("{'role':'assistant','content':'second'}", null), chunk("{}", "stop"), "data: [DONE]"));
    try (TestRouter r = router("openai", openAi(server))) {
      Streamed s = r.stream("{'model':'openai/gpt-4o-mini','stream':true,'messages':[{'role':'user','content':'hi'}]}");
      assertEquals("second", s.content());
      assertEquals(2, s.result.attempts());
      assertEquals(List.of(Attempt.Outcome.SERVER_ERROR, Attempt.Outcome.OK),
          s.result.tried().stream().map(Attempt::outcome).toList());
    }
  }

  @Test
  void providerClientErrorsPassThroughWithTheirStatus() {
    server.reply(json(400, "{\"error\":{\"message\":\"Invalid 'messages[0].content'\",\"type\":\"invalid_request_error\",\"code\":\"invalid_value\"}}"));
    try (TestRouter r = router("openai", openAi(server))) {
      RouterException e = org.junit.jupiter.api.Assertions.assertThrows(RouterException.class, () -> r.complete(HELLO));
      assertEquals(400, e.status());
      assertEquals("invalid_request_error", e.type());
      assertEquals("invalid_value", e.code());
      assertTrue(e.getMessage().contains("Invalid 'messages[0].content'"), e.getMessage());
      assertEquals(1, server.count(), "a 400 is never retried");
    }
  }
}
