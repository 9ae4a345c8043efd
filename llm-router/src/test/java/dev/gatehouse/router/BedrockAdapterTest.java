package dev.gatehouse.router;

import static dev.gatehouse.router.FakeProvider.ok;
import static dev.gatehouse.router.Fixtures.fast;
import static dev.gatehouse.router.Fixtures.router;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Fixtures.Streamed;
import dev.gatehouse.router.Fixtures.TestRouter;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

/** Bedrock Converse: SigV4 over what is actually sent, request/response translation, event-stream decoding. */
@Timeout(30)
class BedrockAdapterTest {
  static final String ACCESS_KEY = "AKIDEXAMPLE0000TEST";
  static final String SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  static final String SESSION = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
  static final String MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";

  static final String ANSWER = ("{'output':{'message':{'role':'assistant','content':[{'text':'Checking.'},"
      + "{'toolUse':{'toolUseId':'tooluse_1','name':'get_weather','input':{'city':'Lima'}}}]}},'stopReason':'tool_use',"
      + "'usage':{'inputTokens':30,'outputTokens':12,'totalTokens':42,'cacheReadInputTokens':10,'cacheWriteInputTokens':5},"
      + "'metrics':{'latencyMs':300}}").replace('\'', '"');

  final FakeProvider server = FakeProvider.start();

  @AfterEach
  void stop() {
    server.close();
  }

  TestRouter bedrock() {
    ProviderConfig p = ProviderConfig.bedrock("us-east-1", ACCESS_KEY, SECRET_KEY, Optional.of(SESSION)).withBaseUrl(server.url());
    return router("bedrock", fast(p));
  }

  static byte[] frame(String eventType, String json) {
    Map<String, HeaderValue> h = new LinkedHashMap<>();
    h.put(":message-type", HeaderValue.fromString("event"));
    h.put(":event-type", HeaderValue.fromString(eventType));
    h.put(":content-type", HeaderValue.fromString("application/json"));
    return bytes(new Message(h, json.replace('\'', '"').getBytes(StandardCharsets.UTF_8)));
  }

  static byte[] exception(String type, String message) {
    Map<String, HeaderValue> h = new LinkedHashMap<>();
    h.put(":message-type", HeaderValue.fromString("exception"));
    h.put(":exception-type", HeaderValue.fromString(type));
    return bytes(new Message(h, ("{\"message\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8)));
  }

  static byte[] bytes(Message m) {
    java.nio.ByteBuffer b = m.toByteBuffer();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  static byte[] toolStream() {
    return concat(
        frame("messageStart", "{'role':'assistant'}"),
        frame("contentBlockDelta", "{'contentBlockIndex':0,'delta':{'text':'Check'}}"),
        frame("contentBlockDelta", "{'contentBlockIndex':0,'delta':{'text':'ing.'}}"),
        frame("contentBlockStop", "{'contentBlockIndex':0}"),
        frame("contentBlockStart", "{'contentBlockIndex':1,'start':{'toolUse':{'toolUseId':'tooluse_1','name':'get_weather'}}}"),
        frame("contentBlockDelta", "{'contentBlockIndex':1,'delta':{'toolUse':{'input':'{\\'city\\''}}}"),
        frame("contentBlockDelta", "{'contentBlockIndex':1,'delta':{'toolUse':{'input':':\\'Lima\\'}'}}}"),
        frame("contentBlockStop", "{'contentBlockIndex':1}"),
        frame("messageStop", "{'stopReason':'tool_use'}"),
        frame("metadata", "{'usage':{'inputTokens':30,'outputTokens':12,'totalTokens':42,'cacheReadInputTokens':10,"
            + "'cacheWriteInputTokens':5},'metrics':{'latencyMs':300}}"));
  }

  @Test
  void requestIsSignedWithSigV4OverExactlyWhatIsSent() {
    server.reply(ok(ANSWER));
    try (TestRouter r = bedrock()) {
      r.complete("{'model':'bedrock/" + MODEL + "','messages':[{'role':'user','content':'hi'}]}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", req.path());
      String auth = req.header("Authorization");
      assertTrue(auth.startsWith("AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY + "/20250601/us-east-1/bedrock/aws4_request, SignedHeaders="), auth);
      assertTrue(auth.matches(".*SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}"), auth);
      assertEquals("20250601T120000Z", req.header("X-Amz-Date"));
      assertEquals(SESSION, req.header("X-Amz-Security-Token"));

      // Re-sign what the server received, independently: the signature must match, so the host, port,
      // path encoding and body the JDK client sent are the ones that were signed.
      SdkHttpRequest received = SdkHttpRequest.builder()
          .uri(URI.create(server.url() + req.path()))
          .method(SdkHttpMethod.POST)
          .putHeader("Content-Type", req.header("Content-Type"))
          .putHeader("Accept", req.header("Accept"))
          .build();
      var fixed = java.time.Clock.fixed(java.time.Instant.parse("2025-06-01T12:00:00Z"), java.time.ZoneOffset.UTC);
      String expected = AwsV4HttpSigner.create().sign(s -> s
          .identity(AwsSessionCredentialsIdentity.create(ACCESS_KEY, SECRET_KEY, SESSION))
          .request(received)
          .payload(ContentStreamProvider.fromByteArray(req.body()))
          .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "bedrock")
          .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
          .putProperty(HttpSigner.SIGNING_CLOCK, fixed)).request().firstMatchingHeader("Authorization").orElseThrow();
      assertEquals(expected, auth);
    }
  }

  @Test
  void requestTranslatesSystemToolBlocksMergedTurnsAndDefaultsMaxTokens() {
    server.reply(ok(ANSWER));
    try (TestRouter r = bedrock()) {
      r.complete("{'model':'bedrock/" + MODEL + "','temperature':0.3,'top_p':0.9,'stop':'END','tool_choice':'required',"
          + "'tools':[{'type':'function','function':{'name':'get_weather','parameters':{'type':'object','properties':{'city':{'type':'string'}}}}}],"
          + "'messages':[{'role':'system','content':'Be brief.'},{'role':'user','content':'Lima?'},{'role':'user','content':'Now.'},"
          + "{'role':'assistant','content':'','tool_calls':[{'id':'tooluse_1','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':\\'Lima\\'}'}}]},"
          + "{'role':'tool','tool_call_id':'tooluse_1','content':'20C'},{'role':'user','content':'thanks'}]}");
      ObjectNode body = server.last().json();
      assertEquals("Be brief.", body.path("system").path(0).path("text").asText());
      JsonNode msgs = body.path("messages");
      assertEquals(3, msgs.size(), msgs.toString());
      assertEquals(2, msgs.path(0).path("content").size());
      assertEquals("tooluse_1", msgs.path(1).path("content").path(0).path("toolUse").path("toolUseId").asText());
      assertEquals("Lima", msgs.path(1).path("content").path(0).path("toolUse").path("input").path("city").asText());
      assertEquals("20C", msgs.path(2).path("content").path(0).path("toolResult").path("content").path(0).path("text").asText());
      assertEquals("thanks", msgs.path(2).path("content").path(1).path("text").asText());
      JsonNode inference = body.path("inferenceConfig");
      assertEquals(ProviderConfig.DEFAULT_MAX_TOKENS, inference.path("maxTokens").asInt());
      assertEquals(0.3, inference.path("temperature").asDouble());
      assertEquals("END", inference.path("stopSequences").path(0).asText());
      assertEquals("get_weather", body.path("toolConfig").path("tools").path(0).path("toolSpec").path("name").asText());
      assertTrue(body.path("toolConfig").path("toolChoice").has("any"));
    }
  }

  @Test
  void responseBecomesAnOpenAiCompletion() {
    server.reply(ok(ANSWER));
    try (TestRouter r = bedrock()) {
      ChatResult result = r.complete("{'model':'bedrock/" + MODEL + "','messages':[{'role':'user','content':'hi'}]}");
      assertEquals("Checking.", result.message().path("content").asText());
      assertEquals("tooluse_1", result.message().path("tool_calls").path(0).path("id").asText());
      assertEquals("{\"city\":\"Lima\"}", result.message().path("tool_calls").path(0).path("function").path("arguments").asText());
      assertEquals("tool_calls", result.finishReason());
      assertEquals(new Usage(45, 12, 10, 5, 57), result.usage());
      assertEquals("sigv4", result.route().keyId());
      assertTrue(result.costUsd().signum() > 0, "claude-3-5-sonnet on Bedrock is priced by the default table");
    }
  }

  @Test
  void eventStreamIsDecodedIntoChunks() {
    server.reply(FakeProvider.bytes(200, "application/vnd.amazon.eventstream", toolStream(), false));
    try (TestRouter r = bedrock()) {
      Streamed s = r.stream("{'model':'bedrock/" + MODEL + "','stream':true,'stream_options':{'include_usage':true},"
          + "'messages':[{'role':'user','content':'hi'}]}");
      assertEquals("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", server.last().path());
      assertEquals("application/vnd.amazon.eventstream", server.last().header("Accept"));
      assertEquals("Checking.", s.content());
      assertEquals("tool_calls", s.chunks.get(s.chunks.size() - 2).path("choices").path(0).path("finish_reason").asText());
      assertEquals(57, s.chunks.get(s.chunks.size() - 1).path("usage").path("total_tokens").asInt());
      assertEquals("{'city':'Lima'}".replace('\'', '"'), s.result.message().path("tool_calls").path(0).path("function").path("arguments").asText());
      assertEquals("get_weather", s.result.message().path("tool_calls").path(0).path("function").path("name").asText());
    }
  }

  @Test
  void streamAndNonStreamTokenTotalsAgree() {
    server.reply(ok(ANSWER), FakeProvider.bytes(200, "application/vnd.amazon.eventstream", toolStream(), false));
    try (TestRouter r = bedrock()) {
      String req = "{'model':'bedrock/" + MODEL + "','messages':[{'role':'user','content':'hi'}]}";
      ChatResult whole = r.complete(req);
      Streamed s = r.stream(req);
      assertEquals(whole.usage(), s.result.usage());
      assertEquals(whole.costUsd(), s.result.costUsd());
    }
  }

  @Test
  void aThrottlingExceptionFrameBeforeContentIsRetried() {
    server.reply(
        FakeProvider.bytes(200, "application/vnd.amazon.eventstream",
            concat(frame("messageStart", "{'role':'assistant'}"), exception("throttlingException", "slow down")), false),
        FakeProvider.bytes(200, "application/vnd.amazon.eventstream", toolStream(), false));
    try (TestRouter r = bedrock()) {
      Streamed s = r.stream("{'model':'bedrock/" + MODEL + "','messages':[{'role':'user','content':'hi'}]}");
      assertEquals("Checking.", s.content());
      assertEquals(Attempt.Outcome.RATE_LIMITED, s.result.tried().get(0).outcome());
      assertEquals(2, server.count());
    }
  }

  @Test
  void bedrockApiKeysAreSentAsBearerTokens() {
    server.reply(ok(ANSWER));
    ProviderConfig p = new ProviderConfig(ProviderKind.BEDROCK, Optional.of(server.uri()),
        java.util.List.of(ProviderConfig.Key.of("br", "ABSKbedrockapikey123456", 1)), Optional.empty(), Map.of(), Optional.of("eu-west-1"),
        Optional.empty(), Optional.empty(), Optional.empty(), null, 0, null, null, null, false, null, null, 4096);
    try (TestRouter r = router("bedrock", p)) {
      r.complete("{'model':'bedrock/" + MODEL + "','messages':[{'role':'user','content':'hi'}]}");
      assertEquals("Bearer ABSKbedrockapikey123456", server.last().header("Authorization"));
    }
  }

  @Test
  void remoteImageUrlsAreRefusedBecauseBedrockTakesOnlyInlineImages() {
    try (TestRouter r = bedrock()) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete("{'model':'bedrock/" + MODEL + "','messages':[{'role':'user',"
          + "'content':[{'type':'image_url','image_url':{'url':'https://example.com/a.png'}}]}]}"));
      assertEquals(400, e.status());
    }
  }

  @Test
  void embeddingsInvokeTitanWithOneTextAndCohereWithABatchSigned() {
    server.reply(ok("{\"embedding\":[0.1,0.2,0.3],\"inputTextTokenCount\":5}"));
    server.reply(ok("{\"embeddings\":[[0.1],[0.2]],\"id\":\"x\",\"response_type\":\"embeddings_floats\"}"));
    try (TestRouter r = bedrock()) {
      ChatResult titan = r.embed("{'model':'bedrock/amazon.titan-embed-text-v2:0','input':'hello there','dimensions':256}");
      FakeProvider.Recorded req = server.last();
      assertEquals("/model/amazon.titan-embed-text-v2%3A0/invoke", req.path());
      assertTrue(req.header("Authorization").startsWith("AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY + "/"), req.header("Authorization"));
      assertEquals("hello there", req.json().path("inputText").asText());
      assertEquals(256, req.json().path("dimensions").asInt());
      assertEquals(3, titan.response().path("data").path(0).path("embedding").size());
      assertEquals(5, titan.usage().promptTokens(), "Titan's own count");
      ChatResult cohere = r.embed("{'model':'bedrock/cohere.embed-english-v3','input':['a','b'],"
          + "'provider_options':{'bedrock':{'input_type':'search_query'}}}");
      assertEquals("search_query", server.last().json().path("input_type").asText(), "the option replaces the default");
      assertEquals(2, server.last().json().path("texts").size());
      assertEquals(0.2, cohere.response().path("data").path(1).path("embedding").path(0).asDouble(), 1e-9);
      RouterException many = assertThrows(RouterException.class,
          () -> r.embed("{'model':'bedrock/amazon.titan-embed-text-v2:0','input':['a','b']}"));
      assertEquals(400, many.status());
      assertTrue(many.getMessage().contains("one text per request"), many.getMessage());
    }
  }
}
