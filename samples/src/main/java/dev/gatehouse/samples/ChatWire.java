package dev.gatehouse.samples;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.gatehouse.samples.ModelScript.Reply;
import dev.gatehouse.samples.ModelScript.ToolCall;
import dev.gatehouse.samples.ModelScript.Usage;

/**
 * The scripted model's replies in OpenAI's wire shapes: {@code chat.completion}, the {@code chat.completion.chunk}
 * sequence of a stream, {@code list} of models, and error objects. Field order and the explicit nulls follow
 * what api.openai.com sends, so that clients (and the gateway's pass-through) see nothing unusual.
 */
final class ChatWire {

    static final String FINGERPRINT = "fp_scripted";

    /** {@code created} of every scripted model (2025-01-01T00:00:00Z): model listings stay byte-identical. */
    static final long MODELS_CREATED = 1_735_689_600L;

    /** Tool-call arguments stream in fragments of at most this many characters, as real models emit them. */
    private static final int ARGUMENT_FRAGMENT = 8;

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private ChatWire() {
    }

    /** The non-streamed answer. */
    static ObjectNode completion(String id, long created, String model, Reply reply) {
        ObjectNode message = JSON.objectNode().put("role", "assistant");
        if (reply.callsTools()) {
            message.putNull("content");
        } else {
            message.put("content", reply.content());
        }
        message.putNull("refusal");
        if (reply.callsTools()) {
            ArrayNode calls = message.putArray("tool_calls");
            for (ToolCall call : reply.toolCalls()) {
                calls.add(JSON.objectNode()
                    .put("id", call.id())
                    .put("type", "function")
                    .set("function", JSON.objectNode().put("name", call.name()).put("arguments", call.arguments())));
            }
        }
        message.putArray("annotations");
        ObjectNode choice = JSON.objectNode().put("index", 0);
        choice.set("message", message);
        choice.putNull("logprobs");
        choice.put("finish_reason", reply.finishReason());

        ObjectNode completion = envelope(id, "chat.completion", created, model);
        completion.putArray("choices").add(choice);
        completion.set("usage", usage(reply.usage()));
        return completion;
    }

    /**
     * The chunks of a streamed answer, without the SSE framing or the final {@code [DONE]}: a first delta with
     * the role, then one chunk per word of text or, for each tool call, one chunk with its {@code index},
     * {@code id}, {@code type} and {@code function.name} followed by {@code function.arguments} fragments;
     * then an empty delta with the finish reason; then, if asked, a usage chunk with no choices. With
     * {@code includeUsage} every other chunk carries {@code "usage": null}, as OpenAI's do.
     */
    static List<ObjectNode> chunks(String id, long created, String model, Reply reply, boolean includeUsage) {
        List<ObjectNode> chunks = new ArrayList<>();
        ObjectNode first = JSON.objectNode().put("role", "assistant");
        if (reply.callsTools()) {
            first.putNull("content");
        } else {
            first.put("content", "");
        }
        first.putNull("refusal");
        chunks.add(chunk(id, created, model, first, null, includeUsage));

        if (reply.callsTools()) {
            for (int i = 0; i < reply.toolCalls().size(); i++) {
                ToolCall call = reply.toolCalls().get(i);
                ObjectNode opening = JSON.objectNode().put("index", i).put("id", call.id()).put("type", "function");
                opening.set("function", JSON.objectNode().put("name", call.name()).put("arguments", ""));
                chunks.add(chunk(id, created, model, toolCallDelta(opening), null, includeUsage));
                for (String fragment : fragments(call.arguments())) {
                    ObjectNode more = JSON.objectNode().put("index", i);
                    more.set("function", JSON.objectNode().put("arguments", fragment));
                    chunks.add(chunk(id, created, model, toolCallDelta(more), null, includeUsage));
                }
            }
        } else {
            for (String piece : ModelScript.pieces(reply.content())) {
                chunks.add(chunk(id, created, model, JSON.objectNode().put("content", piece), null, includeUsage));
            }
        }
        chunks.add(chunk(id, created, model, JSON.objectNode(), reply.finishReason(), includeUsage));

        if (includeUsage) {
            ObjectNode usage = envelope(id, "chat.completion.chunk", created, model);
            usage.putArray("choices");
            usage.set("usage", usage(reply.usage()));
            chunks.add(usage);
        }
        return chunks;
    }

    static ObjectNode usage(Usage usage) {
        ObjectNode node = JSON.objectNode()
            .put("prompt_tokens", usage.promptTokens())
            .put("completion_tokens", usage.completionTokens())
            .put("total_tokens", usage.totalTokens());
        node.putObject("prompt_tokens_details").put("cached_tokens", 0).put("audio_tokens", 0);
        node.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
            .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        return node;
    }

    static ObjectNode model(String id) {
        return JSON.objectNode()
            .put("id", id)
            .put("object", "model")
            .put("created", MODELS_CREATED)
            .put("owned_by", "gatehouse-samples");
    }

    static ObjectNode models(List<String> ids) {
        ObjectNode list = JSON.objectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        ids.forEach(id -> data.add(model(id)));
        return list;
    }

    static ObjectNode error(ModelApiException e) {
        ObjectNode error = JSON.objectNode().put("message", e.getMessage()).put("type", e.type());
        e.param().ifPresentOrElse(p -> error.put("param", p), () -> error.putNull("param"));
        e.code().ifPresentOrElse(c -> error.put("code", c), () -> error.putNull("code"));
        ObjectNode body = JSON.objectNode();
        body.set("error", error);
        return body;
    }

    private static ObjectNode envelope(String id, String object, long created, String model) {
        return JSON.objectNode()
            .put("id", id)
            .put("object", object)
            .put("created", created)
            .put("model", model)
            .put("service_tier", "default")
            .put("system_fingerprint", FINGERPRINT);
    }

    private static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finishReason,
            boolean includeUsage) {
        ObjectNode choice = JSON.objectNode().put("index", 0);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        ObjectNode chunk = envelope(id, "chat.completion.chunk", created, model);
        chunk.putArray("choices").add(choice);
        if (includeUsage) {
            chunk.putNull("usage");
        }
        return chunk;
    }

    private static ObjectNode toolCallDelta(ObjectNode call) {
        ObjectNode delta = JSON.objectNode();
        delta.putArray("tool_calls").add(call);
        return delta;
    }

    /** Cuts text into fragments, never between the two halves of a surrogate pair. */
    static List<String> fragments(String text) {
        List<String> fragments = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = Math.min(start + ARGUMENT_FRAGMENT, text.length());
            if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
                end++;
            }
            fragments.add(text.substring(start, end));
            start = end;
        }
        return fragments;
    }
}
