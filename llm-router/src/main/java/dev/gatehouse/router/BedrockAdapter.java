package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Attempt.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;
import software.amazon.eventstream.MessageDecoder;

/**
 * Amazon Bedrock's Converse API ({@code /model/{id}/converse} and {@code /converse-stream}). Requests are
 * signed with SigV4 by the AWS SDK's own signer, or carry a Bedrock API key as a bearer token; streamed
 * answers arrive as AWS event-stream frames, decoded (CRCs checked) by the AWS event-stream library.
 * Turns of the same role are merged, tool calls become {@code toolUse} and tool messages
 * {@code toolResult} blocks, and {@code maxTokens} defaults like Anthropic's.
 */
final class BedrockAdapter implements Adapter, Embeddings {
  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();

  private final Clock clock;

  BedrockAdapter(Clock clock) {
    this.clock = clock;
  }

  @Override
  public byte[] body(Call call) {
    ObjectNode req = call.request();
    Adapter.oneChoice(req, "Bedrock");
    ObjectNode out = Json.object();
    Blocks blocks = new Blocks();
    out.set("messages", Turns.of(req.path("messages"), "assistant", "content", blocks));
    if (!blocks.system.isEmpty()) {
      out.set("system", blocks.system);
    }
    ObjectNode inference = out.putObject("inferenceConfig");
    inference.put("maxTokens", Adapter.maxTokens(call));
    if (req.hasNonNull("temperature")) {
      inference.set("temperature", req.get("temperature"));
    }
    if (req.hasNonNull("top_p")) {
      inference.set("topP", req.get("top_p"));
    }
    Adapter.stopSequences(req, inference, "stopSequences");
    if (req.hasNonNull("top_k")) {
      out.putObject("additionalModelRequestFields").set("top_k", req.get("top_k"));
    }
    tools(req, out);
    Adapter.providerOptions(req, ProviderKind.BEDROCK, out);
    return Json.bytes(out);
  }

  /** Converse content blocks: untyped {@code text}, inline {@code image}, {@code toolUse} and {@code toolResult}. */
  private static final class Blocks extends Turns.PlainText {
    @Override
    public void userPart(JsonNode part, String type, ArrayNode into, String where) {
      if (!type.equals("image_url")) {
        throw RouterException.badRequest(where + ".type",
            where + ".type: '" + type + "' is not supported by Bedrock (expected: text or image_url)");
      }
      JsonNode iu = part.get("image_url");
      String url = iu != null && iu.isTextual() ? iu.asText() : part.path("image_url").path("url").asText("");
      String[] data = Adapter.dataUrl(url);
      if (data == null || !data[0].startsWith("image/")) {
        throw RouterException.badRequest(where + ".image_url",
            where + ".image_url: Bedrock takes images inline only (expected: a data:image/...;base64 URL)");
      }
      ObjectNode img = into.addObject().putObject("image");
      img.put("format", data[0].substring(6).replace("jpg", "jpeg"));
      img.putObject("source").put("bytes", data[1]);
    }

    @Override
    public void toolCall(String id, String name, ObjectNode arguments, ArrayNode into) {
      ObjectNode use = into.addObject().putObject("toolUse");
      use.put("toolUseId", id);
      use.put("name", name);
      use.set("input", arguments);
    }

    @Override
    public void toolResult(String toolCallId, JsonNode message, ArrayNode into, String where) {
      ObjectNode result = into.addObject().putObject("toolResult");
      result.put("toolUseId", toolCallId);
      result.putArray("content").addObject().put("text", Json.contentText(message.get("content")));
    }
  }

  private static void tools(ObjectNode req, ObjectNode out) {
    JsonNode tools = req.path("tools");
    JsonNode choice = req.get("tool_choice");
    if (!tools.isArray() || tools.isEmpty() || (choice != null && choice.isTextual() && choice.textValue().equals("none"))) {
      // Converse has no "none": not offering the tools is the same.
      return;
    }
    ObjectNode config = out.putObject("toolConfig");
    ArrayNode list = config.putArray("tools");
    for (int i = 0; i < tools.size(); i++) {
      JsonNode t = tools.get(i);
      ObjectNode spec = Adapter.declaration(t, i);
      list.addObject().set("toolSpec", spec);
      JsonNode params = t.path("function").get("parameters");
      spec.putObject("inputSchema").set("json", params != null && params.isObject() ? params
          : Json.object().put("type", "object").set("properties", Json.object()));
    }
    if (choice != null && choice.isTextual()) {
      config.putObject("toolChoice").putObject(choice.textValue().equals("required") ? "any" : "auto");
    } else if (choice != null && choice.isObject()) {
      config.putObject("toolChoice").putObject("tool").put("name", choice.path("function").path("name").asText(""));
    }
  }

  @Override
  public Outbound request(Call call, KeyState key, byte[] body) {
    return signed(call, key, body, call.stream() ? "/converse-stream" : "/converse",
        call.stream() ? "application/vnd.amazon.eventstream" : "application/json");
  }

  /** The model's {@code operation} with {@code key}: a Bedrock API key as a bearer token, else signed with SigV4. */
  private Outbound signed(Call call, KeyState key, byte[] body, String operation, String accept) {
    ProviderConfig cfg = call.provider().config;
    URI uri = URI.create(key.baseUrl + "/model/" + Adapter.segment(call.model()) + operation);
    Outbound b = new Outbound(uri);
    if (key.secret().isPresent()) {
      // A Bedrock API key: a bearer token, no signature.
      return b.header("Content-Type", "application/json").header("Accept", accept)
          .header("Authorization", "Bearer " + key.secret().get());
    }
    String id = cfg.accessKeyId().orElseThrow();
    String secret = cfg.secretAccessKey().orElseThrow();
    Optional<String> token = cfg.sessionToken();
    AwsCredentialsIdentity identity = token.isPresent()
        ? AwsSessionCredentialsIdentity.create(id, secret, token.get())
        : AwsCredentialsIdentity.create(id, secret);
    SdkHttpRequest unsigned = SdkHttpRequest.builder()
        .uri(uri)
        .method(SdkHttpMethod.POST)
        .putHeader("Content-Type", "application/json")
        .putHeader("Accept", accept)
        .build();
    SignedRequest signed = SIGNER.sign(r -> r
        .identity(identity)
        .request(unsigned)
        .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
        .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "bedrock")
        .putProperty(AwsV4HttpSigner.REGION_NAME, cfg.region().orElseThrow())
        .putProperty(HttpSigner.SIGNING_CLOCK, clock));
    for (Map.Entry<String, List<String>> h : signed.request().headers().entrySet()) {
      // The HTTP client sets Host itself, from the same URI the signature covers.
      if (!h.getKey().equalsIgnoreCase("host")) {
        for (String v : h.getValue()) {
          b.header(h.getKey(), v);
        }
      }
    }
    return b;
  }

  /** Cohere's embedding models take a batch; Amazon's Titan models take one text per request. */
  private static boolean cohere(Call call) {
    return call.model().contains("cohere.embed");
  }

  /**
   * {@code invoke} of an embedding model: Cohere's {@code texts} (with {@code input_type}
   * {@code search_document} unless {@code provider_options.bedrock} says otherwise), or Titan's
   * {@code inputText} (one input; {@code dimensions} passed on).
   */
  @Override
  public byte[] embeddingsBody(Call call) {
    List<String> texts = Embeddings.texts(call.request(), "Bedrock");
    ObjectNode out = Json.object();
    if (cohere(call)) {
      ArrayNode list = out.putArray("texts");
      texts.forEach(list::add);
      out.put("input_type", "search_document");
    } else {
      if (texts.size() != 1) {
        throw RouterException.badRequest("input", "input: " + texts.size() + " texts (expected: one; Bedrock's Titan embedding "
            + "models take one text per request, Cohere's a batch)");
      }
      out.put("inputText", texts.get(0));
      if (call.request().hasNonNull("dimensions")) {
        out.set("dimensions", call.request().get("dimensions"));
      }
    }
    Adapter.providerOptions(call.request(), ProviderKind.BEDROCK, out);
    return Json.bytes(out);
  }

  @Override
  public Outbound embeddingsRequest(Call call, KeyState key, byte[] body) {
    return signed(call, key, body, "/invoke", "application/json");
  }

  /** The vectors (Cohere's {@code embeddings}, plain or by type; Titan's {@code embedding}); Titan's token count, else estimated. */
  @Override
  public Translated embeddingsResponse(Call call, byte[] body) throws IOException {
    ObjectNode r = Json.parseObject(body);
    List<JsonNode> vectors = new java.util.ArrayList<>();
    JsonNode embeddings = r.path("embeddings");
    if (embeddings.isObject()) {
      embeddings = embeddings.path("float");
    }
    if (embeddings.isArray()) {
      embeddings.forEach(vectors::add);
    } else if (r.path("embedding").isArray()) {
      vectors.add(r.get("embedding"));
    } else {
      throw new IOException("the provider's answer has no embeddings");
    }
    Usage usage = Embeddings.usage(r.path("inputTextTokenCount").asLong(0), call.request(), "Bedrock");
    return new Translated(Embeddings.list(call.request(), call.model(), vectors, usage), usage);
  }

  @Override
  public Translated response(Call call, byte[] body) throws IOException {
    ObjectNode r = Json.parseObject(body);
    StringBuilder text = new StringBuilder();
    ArrayNode calls = Json.array();
    for (JsonNode block : r.path("output").path("message").path("content")) {
      if (block.has("text")) {
        text.append(block.get("text").asText());
      } else if (block.has("toolUse")) {
        JsonNode use = block.get("toolUse");
        ChatCompletion.toolCall(calls, use.path("toolUseId").asText(), use.path("name").asText(),
            Json.text(use.path("input").isObject() ? use.get("input") : Json.object()));
      }
    }
    Usage usage = usage(r.path("usage"));
    ObjectNode out = ChatCompletion.envelope("chat.completion", Adapter.randomId("chatcmpl-"), call.created(), call.model());
    ChatCompletion.choice(out.putArray("choices"), 0, text, calls, "",
        ChatCompletion.finishReason(finishReason(r.path("stopReason").asText(null)), !calls.isEmpty()));
    out.set("usage", usage.toOpenAi());
    return new Translated(out, usage);
  }

  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "guardrail_intervened", "content_filtered" -> "content_filter";
      default -> "stop";
    };
  }

  /** Converse counts cache reads and writes apart from {@code inputTokens}, as Anthropic does. */
  private static Usage usage(JsonNode u) {
    long read = u.path("cacheReadInputTokens").asLong(0);
    long write = u.path("cacheWriteInputTokens").asLong(0);
    return Usage.of(u.path("inputTokens").asLong(0) + read + write, u.path("outputTokens").asLong(0), read, write);
  }

  @Override
  public void stream(Call call, InputStream body, StreamState out) throws IOException, Failure {
    MessageDecoder decoder = new MessageDecoder();
    Map<Integer, Integer> toolByBlock = new HashMap<>();
    int nextTool = 0;
    boolean stopped = false;
    byte[] buf = new byte[8192];
    int n;
    while ((n = body.read(buf, 0, buf.length)) >= 0) {
      try {
        decoder.feed(buf, 0, n);
      } catch (RuntimeException corrupt) {
        throw new IOException("Bedrock sent a corrupt event-stream frame");
      }
      for (Message m : decoder.getDecodedMessages()) {
        String messageType = header(m, ":message-type");
        if (messageType.equals("exception") || messageType.equals("error")) {
          throw exception(m, messageType);
        }
        ObjectNode p = m.getPayload().length == 0 ? Json.object() : Json.parseObject(m.getPayload());
        switch (header(m, ":event-type")) {
          case "contentBlockStart" -> {
            JsonNode use = p.path("start").path("toolUse");
            if (use.isObject()) {
              int t = nextTool++;
              toolByBlock.put(p.path("contentBlockIndex").asInt(), t);
              out.toolStart(0, t, use.path("toolUseId").asText(), use.path("name").asText());
            }
          }
          case "contentBlockDelta" -> {
            JsonNode delta = p.path("delta");
            if (delta.has("text")) {
              out.text(0, delta.get("text").asText());
            } else if (delta.has("toolUse")) {
              Integer t = toolByBlock.get(p.path("contentBlockIndex").asInt());
              if (t != null) {
                out.toolArguments(0, t, delta.path("toolUse").path("input").asText(""));
              }
            }
          }
          case "contentBlockStop" -> {
            Integer t = toolByBlock.get(p.path("contentBlockIndex").asInt());
            if (t != null && !out.hasArguments(0, t)) {
              out.toolArguments(0, t, "{}");
            }
          }
          case "messageStop" -> {
            out.finish(0, finishReason(p.path("stopReason").asText(null)));
            stopped = true;
          }
          case "metadata" -> {
            out.usage(usage(p.path("usage")));
            if (stopped) {
              out.complete();
              return;
            }
          }
          default -> {
            // messageStart: the role is implied
          }
        }
      }
    }
    if (stopped) {
      out.complete();
    }
  }

  private static String header(Message m, String name) {
    HeaderValue v = m.getHeaders().get(name);
    return v == null ? "" : v.getString();
  }

  private static Failure exception(Message m, String messageType) {
    String type = messageType.equals("error") ? header(m, ":error-code") : header(m, ":exception-type");
    String message = messageType.equals("error") ? header(m, ":error-message") : "";
    if (message.isEmpty() && m.getPayload().length > 0) {
      try {
        JsonNode p = Json.MAPPER.readTree(new String(m.getPayload(), StandardCharsets.UTF_8));
        message = p.path("message").asText(p.path("Message").asText(""));
      } catch (IOException ignored) {
        // only the type is known
      }
    }
    String t = type.toLowerCase(Locale.ROOT);
    Outcome outcome = t.contains("throttl") ? Outcome.RATE_LIMITED
        : t.contains("validation") ? Outcome.CLIENT_ERROR
        : t.contains("accessdenied") ? Outcome.KEY_REJECTED
        : Outcome.SERVER_ERROR;
    int status = switch (outcome) {
      case RATE_LIMITED -> 429;
      case CLIENT_ERROR -> 400;
      case KEY_REJECTED -> 403;
      default -> 500;
    };
    return Failure.inStream(outcome, status, type, message.isEmpty() ? type : message);
  }
}
