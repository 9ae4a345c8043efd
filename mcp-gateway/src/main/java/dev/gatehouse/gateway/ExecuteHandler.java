package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.ToolRegistry;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * {@code POST /v1/mcp/tool/execute}: runs one tool call a model proposed, through the same pipeline
 * as {@code /mcp} (identity, policies, limits, audit). Takes the OpenAI chat shape
 * {@code {"id","type":"function","function":{"name","arguments"}}} and answers the tool message
 * {@code {"role":"tool","tool_call_id","content"}}; with {@code ?format=responses} it takes
 * {@code {"type":"function_call","call_id","name","arguments"}} and answers
 * {@code {"type":"function_call_output","call_id","output"}}.
 */
final class ExecuteHandler {
  static final String PATH = "/v1/mcp/tool/execute";

  private final ToolRegistry registry;
  private final CallChain chain;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;

  ExecuteHandler(ToolRegistry registry, CallChain chain, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http) {
    this.registry = registry;
    this.chain = chain;
    this.auth = auth;
    this.http = http;
  }

  /** A malformed request: 400 with what was expected. */
  private static final class Invalid extends RuntimeException {
    final String code;

    Invalid(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  /** The call as either format states it. */
  private record ToolCall(String id, String name, JsonNode arguments, boolean responses) {}

  void handle(Request request, Response response, Callback callback) {
    String chainId = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"))
        .orElseGet(Chains::generate);
    response.getHeaders().put(Chains.HEADER, chainId);
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      OpenAiErrors.write(response, callback, 403, "permission_error", "forbidden_origin", "Host or Origin not allowed (server.allowed_hosts, server.allowed_origins)");
      return;
    }
    if (!HttpMethod.POST.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "POST");
      OpenAiErrors.write(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use POST");
      return;
    }
    auth.get().authenticate(request, response, callback, PATH, OpenAiErrors::auth).thenAccept(caller -> {
      if (caller != null) {
        Bodies.readThen(request, response, callback, p.maxRequestBytes(), "tool execution",
            (bytes, failure) -> run(request, response, callback, caller, chainId, bytes, failure));
      }
    });
  }

  /** The body is in: decode the tool call and run it through the chain. */
  private void run(Request request, Response response, Callback callback, Principal caller, String chainId, byte[] bytes,
      Throwable failure) {
    ToolCall call;
    try {
      if (failure != null) {
        if (Bodies.tooLarge(failure) != null) {
          throw new Invalid("request_too_large", Bodies.tooLarge(failure).getMessage());
        }
        OpenAiErrors.write(response, callback, 400, "invalid_request_error", "unreadable_body", "The request body could not be read");
        return;
      }
      Fields query = Request.extractQueryParameters(request);
      String format = query.getValue("format");
      if (format != null && !format.equals("responses") && !format.equals("chat")) {
        throw new Invalid("invalid_format", "format: '" + format + "' (expected: chat or responses)");
      }
      call = parse(json(bytes), "responses".equals(format));
    } catch (Invalid e) {
      OpenAiErrors.write(response, callback, e.code.equals("request_too_large") ? 413 : 400, "invalid_request_error", e.code, e.getMessage());
      return;
    }
    Call c = Call.of("execute", caller, chainId, ToolArguments.target(call.name(), call.arguments())).toolCallId(call.id());
    c.traceparent = request.getHeaders().get("traceparent");
    chain.run(c).whenComplete((outcome, error) -> {
      if (error != null) {
        OpenAiErrors.write(response, callback, 500, "api_error", "internal_error", "internal error while running the tool");
      } else {
        write(response, callback, call.id(), call.responses(), outcome);
      }
    });
  }

  /** An outcome as the answer to a tool call: the tool message, or an OpenAI error with its status. */
  private void write(Response response, Callback callback, String id, boolean responses, Outcome outcome) {
    switch (outcome) {
      case Outcome.Done d -> {
        ObjectNode out = Json.object();
        String content = ToolResults.toText(d.result());
        if (responses) {
          out.put("type", "function_call_output");
          out.put("call_id", id);
          out.put("output", content);
        } else {
          out.put("role", "tool");
          out.put("tool_call_id", id);
          out.put("content", content);
        }
        if (d.result().path("isError").asBoolean(false)) {
          // The tool ran and reported a failure: that is the tool's answer for the model, not an HTTP error.
          response.getHeaders().put("X-Gatehouse-Tool-Error", "true");
        }
        McpHttpHandler.writeJson(response, callback, 200, out, null);
      }
      case Outcome.Refused r -> {
        if (r.why() == Outcome.Why.RATE_LIMITED) {
          response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(r.retryAfterSeconds()));
        }
        error(r).write(response, callback);
      }
      case Outcome.Failed f -> error(f).write(response, callback);
    }
  }

  /**
   * A tool call that did not run, or failed, as this door answers it: status, OpenAI error type and
   * code, and the message. Agent mode tells the model the same message.
   */
  OpenAiErrors.Error error(Outcome outcome) {
    return switch (outcome) {
      case Outcome.Done d -> throw new IllegalArgumentException("not an error: " + d.label());
      case Outcome.Refused r -> switch (r.why()) {
        case DENIED, BUDGET_EXCEEDED -> new OpenAiErrors.Error(403, "permission_error", "tool_not_allowed", r.message());
        case RATE_LIMITED -> new OpenAiErrors.Error(429, "rate_limit_error", "rate_limited", r.message());
        case UNKNOWN -> new OpenAiErrors.Error(404, "not_found_error", "tool_not_found", message(r));
        case INVALID -> new OpenAiErrors.Error(400, "invalid_request_error", "invalid_arguments", r.message());
      };
      case Outcome.Failed f -> {
        String msg = f.error().message();
        yield switch (f.error().code()) {
          case RpcError.UPSTREAM_TIMEOUT -> new OpenAiErrors.Error(504, "upstream_error", "upstream_timeout", msg);
          case RpcError.UPSTREAM_UNAVAILABLE -> new OpenAiErrors.Error(502, "upstream_error", "upstream_unavailable", msg);
          case RpcError.URL_ELICITATION_REQUIRED -> new OpenAiErrors.Error(403, "permission_error", "consent_required", msg);
          case RpcError.INVALID_PARAMS -> new OpenAiErrors.Error(400, "invalid_request_error", "invalid_arguments",
              "The tool refused its arguments: " + msg);
          case RpcError.REQUEST_CANCELLED -> new OpenAiErrors.Error(499, "upstream_error", "cancelled", msg);
          default -> new OpenAiErrors.Error(502, "upstream_error", "upstream_error", "The tool's server answered an error: " + msg);
        };
      }
    };
  }

  /**
   * What a refusal tells the caller, on this door and in agent mode's tool messages alike: an unknown
   * tool names how tools are named.
   */
  private String message(Outcome.Refused r) {
    return r.why() == Outcome.Why.UNKNOWN && r.message().startsWith("Unknown tool: ")
        ? "No tool named '" + r.message().substring("Unknown tool: ".length()) + "' (tools are named <server>"
            + registry.catalog().separator() + "<tool>; tools/list on /mcp shows them)"
        : r.message();
  }

  private static JsonNode json(byte[] bytes) {
    try {
      JsonNode node = Json.MAPPER.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new Invalid("invalid_json", "Expected a JSON object (an OpenAI tool call)");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new Invalid("invalid_json", "Body is not JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new Invalid("invalid_json", "Body is not JSON");
    }
  }

  private static ToolCall parse(JsonNode body, boolean responses) {
    if (responses) {
      if (!"function_call".equals(body.path("type").asText())) {
        throw new Invalid("invalid_tool_call", "type: expected \"function_call\" (format=responses)");
      }
      return new ToolCall(text(body, "call_id"), text(body, "name"), body.get("arguments"), true);
    }
    if (body.has("type") && !"function".equals(body.path("type").asText())) {
      throw new Invalid("invalid_tool_call", "type: '" + body.path("type").asText() + "' (expected: \"function\")");
    }
    JsonNode fn = body.get("function");
    if (!(fn instanceof ObjectNode)) {
      throw new Invalid("invalid_tool_call", "function: missing (expected {\"name\": ..., \"arguments\": \"{...}\"})");
    }
    return new ToolCall(text(body, "id"), text(fn, "name"), fn.get("arguments"), false);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.asText().isBlank()) {
      throw new Invalid("invalid_tool_call", field + ": missing (expected a non-empty string)");
    }
    return v.asText();
  }

}
