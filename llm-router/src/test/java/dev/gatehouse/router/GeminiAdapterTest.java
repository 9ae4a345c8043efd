package dev.gatehouse.router;

import static dev.gatehouse.router.FakeProvider.ok;
import static dev.gatehouse.router.FakeProvider.sse;
import static dev.gatehouse.router.Fixtures.SECRET;
import static dev.gatehouse.router.Fixtures.fast;
import static dev.gatehouse.router.Fixtures.router;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Fixtures.Streamed;
import dev.gatehouse.router.Fixtures.TestRouter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Gemini generateContent: function calls with minted ids, name lookup for responses, finish reasons, streams. */
@Timeout(30)
class GeminiAdapterTest {
  static final String CALLS = ("{'responseId':'resp-1','modelVersion':'gemini-2.5-flash','candidates':[{'index':0,'content':{'role':'model','parts':["
      + "{'text':'thinking...','thought':true},"
      + "{'functionCall':{'name':'get_weather','args':{'city':'Paris'}}},"
      + "{'functionCall':{'name':'get_time','args':{}}}]},'finishReason':'STOP'}],"
      + "'usageMetadata':{'promptTokenCount':120,'cachedContentTokenCount':100,'candidatesTokenCount':15,'thoughtsTokenCount':5,'totalTokenCount':140}}")
      .replace('\'', '"');

  final FakeProvider server = FakeProvider.start();

  @AfterEach
  void stop() {
    server.close();
  }

  TestRouter gemini() {
    return router("gemini", fast(ProviderConfig.of(ProviderKind.GEMINI, ProviderConfig.Key.of(SECRET)).withBaseUrl(server.url())));
  }

  @Test
  void requestUsesSystemInstructionFunctionPartsAndLooksUpResponseNames() {
    server.reply(ok(CALLS));
    try (TestRouter r = gemini()) {
      r.complete("{'model':'gemini/gemini-2.5-flash','max_tokens':256,'temperature':0.1,'stop':['X'],'tool_choice':{'type':'function','function':{'name':'get_weather'}},"
          + "'tools':[{'type':'function','function':{'name':'get_weather','description':'w','parameters':{'$schema':'http://json-schema.org/draft-07/schema#',"
          + "'type':'object','additionalProperties':false,'properties':{'city':{'type':['string','null']},'unit':{'const':'c'}},'required':['city']}}}],"
          + "'messages':[{'role':'system','content':'Be brief.'},{'role':'user','content':'Weather?'},"
          + "{'role':'assistant','content':null,'tool_calls':[{'id':'call_x1','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':\\'Paris\\'}'}},"
          + "{'id':'call_x2','type':'function','function':{'name':'get_time','arguments':''}}]},"
          + "{'role':'tool','tool_call_id':'call_x1','content':'{\\'temp\\':18}'},"
          + "{'role':'tool','tool_call_id':'call_x2','content':'noon'}]}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/v1beta/models/gemini-2.5-flash:generateContent", req.path());
      assertEquals(SECRET, req.header("x-goog-api-key"));
      assertEquals(null, req.query(), "the key never goes in the URL");
      ObjectNode body = req.json();
      assertEquals("Be brief.", body.path("systemInstruction").path("parts").path(0).path("text").asText());
      JsonNode contents = body.path("contents");
      assertEquals(3, contents.size(), "both function responses share one user turn: " + contents);
      assertEquals("model", contents.path(1).path("role").asText());
      assertEquals("Paris", contents.path(1).path("parts").path(0).path("functionCall").path("args").path("city").asText());
      JsonNode responses = contents.path(2).path("parts");
      assertEquals("user", contents.path(2).path("role").asText());
      assertEquals("get_weather", responses.path(0).path("functionResponse").path("name").asText());
      assertEquals(18, responses.path(0).path("functionResponse").path("response").path("temp").asInt());
      assertEquals("get_time", responses.path(1).path("functionResponse").path("name").asText());
      assertEquals("noon", responses.path(1).path("functionResponse").path("response").path("result").asText());
      JsonNode gen = body.path("generationConfig");
      assertEquals(256, gen.path("maxOutputTokens").asInt());
      assertEquals("X", gen.path("stopSequences").path(0).asText());
      JsonNode params = body.path("tools").path(0).path("functionDeclarations").path(0).path("parameters");
      assertFalse(params.has("$schema"));
      assertFalse(params.has("additionalProperties"));
      assertEquals("string", params.path("properties").path("city").path("type").asText());
      assertTrue(params.path("properties").path("city").path("nullable").asBoolean());
      assertEquals("c", params.path("properties").path("unit").path("enum").path(0).asText());
      JsonNode fcc = body.path("toolConfig").path("functionCallingConfig");
      assertEquals("ANY", fcc.path("mode").asText());
      assertEquals("get_weather", fcc.path("allowedFunctionNames").path(0).asText());
    }
  }

  @Test
  void aToolResultWithAnUnknownCallIdIsRefusedNotSentWithAPlaceholderName() {
    try (TestRouter r = gemini()) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete("{'model':'gemini/gemini-2.5-flash','messages':["
          + "{'role':'user','content':'x'},{'role':'tool','tool_call_id':'call_nope','content':'1'}]}"));
      assertEquals(400, e.status());
      assertEquals("messages[1].tool_call_id", e.param().orElseThrow());
      assertTrue(e.getMessage().contains("call_nope"));
      assertEquals(0, server.count());
    }
  }

  @Test
  void functionCallsGetMintedIdsAndFinishAsToolCallsEvenWhenGeminiSaysStop() {
    server.reply(ok(CALLS));
    try (TestRouter r = gemini()) {
      ChatResult result = r.complete("{'model':'gemini/gemini-2.5-flash','messages':[{'role':'user','content':'x'}]}");
      JsonNode calls = result.message().path("tool_calls");
      assertEquals(2, calls.size());
      String id0 = calls.path(0).path("id").asText();
      assertTrue(id0.startsWith("call_") && id0.length() > 10, id0);
      assertNotEquals(id0, calls.path(1).path("id").asText());
      assertEquals("get_weather", calls.path(0).path("function").path("name").asText());
      assertEquals("{\"city\":\"Paris\"}", calls.path(0).path("function").path("arguments").asText());
      assertEquals("{}", calls.path(1).path("function").path("arguments").asText());
      assertEquals("tool_calls", result.finishReason());
      assertTrue(result.message().path("content").isNull(), "thought parts are not content");
      assertEquals(new Usage(120, 20, 100, 0, 140), result.usage());
    }
  }

  @Test
  void aRoundTripSendsResponsesNamedAfterTheMintedIds() {
    server.reply(ok(CALLS), ok(CALLS));
    try (TestRouter r = gemini()) {
      ChatResult first = r.complete("{'model':'gemini/gemini-2.5-flash','messages':[{'role':'user','content':'x'}]}");
      JsonNode calls = first.message().path("tool_calls");
      String next = "{'model':'gemini/gemini-2.5-flash','messages':[{'role':'user','content':'x'}," + first.message().toString().replace('"', '\'')
          + ",{'role':'tool','tool_call_id':'" + calls.path(1).path("id").asText() + "','content':'noon'}]}";
      r.complete(next);
      JsonNode parts = server.last().json().path("contents").path(2).path("parts");
      assertEquals("get_time", parts.path(0).path("functionResponse").path("name").asText());
    }
  }

  @Test
  void streamUsesAltSseAndTranslatesTextAndFunctionCalls() {
    server.reply(sse(
        "data: {\"responseId\":\"r1\",\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],"
            + "\"usageMetadata\":{\"promptTokenCount\":10}}",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]}}]}",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Rome\"}}}]},"
            + "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":6,\"totalTokenCount\":16}}"));
    try (TestRouter r = gemini()) {
      Streamed s = r.stream("{'model':'gemini/gemini-2.5-flash','stream':true,'stream_options':{'include_usage':true},"
          + "'messages':[{'role':'user','content':'x'}]}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/v1beta/models/gemini-2.5-flash:streamGenerateContent", req.path());
      assertEquals("alt=sse", req.query());
      assertEquals("Hello", s.content());
      JsonNode call = s.chunks.stream().map(c -> c.path("choices").path(0).path("delta").path("tool_calls").path(0))
          .filter(JsonNode::isObject).findFirst().orElseThrow();
      assertTrue(call.path("id").asText().startsWith("call_"));
      assertEquals("get_weather", call.path("function").path("name").asText());
      ObjectNode finish = s.chunks.get(s.chunks.size() - 2);
      assertEquals("tool_calls", finish.path("choices").path(0).path("finish_reason").asText());
      assertEquals(16, s.chunks.get(s.chunks.size() - 1).path("usage").path("total_tokens").asInt());
      assertEquals("tool_calls", s.result.finishReason());
      assertEquals("{\"city\":\"Rome\"}", s.result.message().path("tool_calls").path(0).path("function").path("arguments").asText());
    }
  }

  @Test
  void streamAndNonStreamTokenTotalsAgree() {
    server.reply(ok(CALLS), sse(
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]}}],"
            + "\"usageMetadata\":{\"promptTokenCount\":120,\"cachedContentTokenCount\":100}}",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},\"finishReason\":\"STOP\"}],"
            + "\"usageMetadata\":{\"promptTokenCount\":120,\"cachedContentTokenCount\":100,\"candidatesTokenCount\":15,\"thoughtsTokenCount\":5,\"totalTokenCount\":140}}"));
    try (TestRouter r = gemini()) {
      String req = "{'model':'gemini/gemini-2.5-flash','messages':[{'role':'user','content':'x'}]}";
      ChatResult whole = r.complete(req);
      Streamed s = r.stream(req);
      assertEquals(whole.usage(), s.result.usage());
      assertEquals(whole.costUsd(), s.result.costUsd());
      assertEquals(whole.finishReason(), s.result.finishReason());
    }
  }

  @Test
  void maxTokensAndSafetyMapToLengthAndContentFilter() {
    assertEquals("length", GeminiAdapter.finishReason("MAX_TOKENS", false));
    assertEquals("content_filter", GeminiAdapter.finishReason("SAFETY", false));
    assertEquals("stop", GeminiAdapter.finishReason("STOP", false));
    assertEquals("tool_calls", GeminiAdapter.finishReason("STOP", true));
  }

  @Test
  void embeddingsAreOneBatchEmbedContentsCallAnsweredAsOpenAisListInEitherEncoding() {
    server.reply(ok("{\"embeddings\":[{\"values\":[0.5,-0.25]},{\"values\":[1.0,0.0]}]}"));
    server.reply(ok("{\"embeddings\":[{\"values\":[0.5,-0.25]}],\"usageMetadata\":{\"promptTokenCount\":7}}"));
    try (TestRouter r = gemini()) {
      ChatResult floats = r.embed("{'model':'gemini/gemini-embedding-001','input':['first text','second'],'dimensions':2,"
          + "'provider_options':{'gemini':{'taskType':'RETRIEVAL_DOCUMENT'}}}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/v1beta/models/gemini-embedding-001:batchEmbedContents", req.path());
      assertEquals(SECRET, req.header("x-goog-api-key"));
      ObjectNode body = req.json();
      assertEquals("models/gemini-embedding-001", body.path("requests").path(0).path("model").asText());
      assertEquals("second", body.path("requests").path(1).path("content").path("parts").path(0).path("text").asText());
      assertEquals(2, body.path("requests").path(0).path("outputDimensionality").asInt());
      assertEquals("RETRIEVAL_DOCUMENT", body.path("requests").path(1).path("taskType").asText());
      assertEquals("list", floats.response().path("object").asText());
      assertEquals(-0.25, floats.response().path("data").path(0).path("embedding").path(1).asDouble(), 1e-9);
      assertEquals(1, floats.response().path("data").path(1).path("index").asInt());
      assertEquals(4, floats.usage().promptTokens(), "Gemini counted none: 16 characters, estimated at 4 per token");
      ChatResult b64 = r.embed("{'model':'gemini/gemini-embedding-001','input':'x','encoding_format':'base64'}");
      byte[] raw = java.util.Base64.getDecoder().decode(b64.response().path("data").path(0).path("embedding").asText());
      assertEquals(-0.25f, java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(4), 1e-6);
      assertEquals(7, b64.usage().promptTokens(), "Gemini's own count when it sends one");
      RouterException tokens = assertThrows(RouterException.class,
          () -> r.embed("{'model':'gemini/gemini-embedding-001','input':[[1,2,3]]}"));
      assertEquals(400, tokens.status());
    }
  }
}
