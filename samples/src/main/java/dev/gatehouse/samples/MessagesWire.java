package dev.gatehouse.samples;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.gatehouse.samples.ModelScript.Reply;
import dev.gatehouse.samples.ModelScript.ToolCall;

/**
 * The scripted model's Anthropic face: {@code POST /v1/messages} as Anthropic's Messages API shapes it.
 * The request is read into the script's own terms (the same rules answer it as chat completions:
 * {@link ScriptedModel}), and the reply is written as a {@code message} or its stream of typed events.
 */
final class MessagesWire {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private MessagesWire() {
    }

    /**
     * What the script reads of a Messages request, in chat-completions terms: the system text, turns with
     * their text, {@code tool_use} blocks as tool calls and {@code tool_result} blocks as tool messages
     *, the tools' names, {@code max_tokens}, {@code stream}.
     */
    static ChatRequest request(JsonNode body) {
        if (!body.path("max_tokens").canConvertToInt()) {
            throw ModelApiException.badRequest("max_tokens", "max_tokens: Field required");
        }
        ObjectNode chat = JSON.objectNode();
        chat.set("model", body.path("model"));
        ArrayNode messages = chat.putArray("messages");
        for (JsonNode m : body.path("messages")) {
            String role = m.path("role").asText("");
            if (m.path("content").isTextual()) {
                messages.addObject().put("role", role).put("content", m.path("content").asText());
                continue;
            }
            StringBuilder text = new StringBuilder();
            ArrayNode toolCalls = JSON.arrayNode();
            for (JsonNode block : m.path("content")) {
                switch (block.path("type").asText("")) {
                    case "text" -> text.append(text.isEmpty() ? "" : "\n").append(block.path("text").asText(""));
                    case "tool_use" -> {
                        ObjectNode c = toolCalls.addObject().put("id", block.path("id").asText("")).put("type", "function");
                        c.putObject("function").put("name", block.path("name").asText(""))
                                .put("arguments", block.path("input").toString());
                    }
                    case "tool_result" -> {
                        JsonNode content = block.path("content");
                        String result = content.isTextual() ? content.asText() : ModelScript.text(block);
                        messages.addObject().put("role", "tool").put("tool_call_id", block.path("tool_use_id").asText(""))
                                .put("content", result);
                    }
                    default -> {
                        // images, documents, thinking: nothing the script reads
                    }
                }
            }
            if (!text.isEmpty() || !toolCalls.isEmpty()) {
                ObjectNode msg = messages.addObject().put("role", role).put("content", text.toString());
                if (!toolCalls.isEmpty()) {
                    msg.set("tool_calls", toolCalls);
                }
            }
        }
        ArrayNode tools = chat.putArray("tools");
        for (JsonNode t : body.path("tools")) {
            tools.addObject().put("type", "function").putObject("function").put("name", t.path("name").asText(""));
        }
        if (tools.isEmpty()) {
            chat.remove("tools");
        }
        if ("none".equals(body.path("tool_choice").path("type").asText(""))) {
            chat.put("tool_choice", "none");
        }
        chat.put("max_tokens", body.path("max_tokens").asInt());
        chat.put("stream", body.path("stream").asBoolean(false));
        return ChatRequest.parse(chat);
    }

    /** A whole {@code message}. */
    static ObjectNode message(String id, String model, Reply reply) {
        ObjectNode m = head(id, model);
        ArrayNode content = m.putArray("content");
        if (!reply.content().isEmpty()) {
            content.addObject().put("type", "text").put("text", reply.content());
        }
        for (ToolCall c : reply.toolCalls()) {
            content.addObject().put("type", "tool_use").put("id", c.id()).put("name", c.name()).set("input", input(c));
        }
        m.put("stop_reason", stopReason(reply));
        m.putNull("stop_sequence");
        m.set("usage", usage(reply.usage().promptTokens(), reply.usage().completionTokens()));
        return m;
    }

    /** The events of a streamed {@code message}: {@code event} names and their data, in order. */
    static List<ObjectNode> events(String id, String model, Reply reply) {
        List<ObjectNode> events = new ArrayList<>();
        ObjectNode start = JSON.objectNode().put("type", "message_start");
        ObjectNode m = head(id, model);
        m.putArray("content");
        m.putNull("stop_reason");
        m.putNull("stop_sequence");
        m.set("usage", usage(reply.usage().promptTokens(), 1));
        start.set("message", m);
        events.add(start);
        int index = 0;
        if (!reply.content().isEmpty()) {
            ObjectNode s = JSON.objectNode().put("type", "content_block_start").put("index", index);
            s.putObject("content_block").put("type", "text").put("text", "");
            events.add(s);
            for (String piece : ModelScript.pieces(reply.content())) {
                ObjectNode d = JSON.objectNode().put("type", "content_block_delta").put("index", index);
                d.putObject("delta").put("type", "text_delta").put("text", piece);
                events.add(d);
            }
            events.add(JSON.objectNode().put("type", "content_block_stop").put("index", index++));
        }
        for (ToolCall c : reply.toolCalls()) {
            ObjectNode s = JSON.objectNode().put("type", "content_block_start").put("index", index);
            s.putObject("content_block").put("type", "tool_use").put("id", c.id()).put("name", c.name()).putObject("input");
            events.add(s);
            String json = input(c).toString();
            for (int i = 0; i < json.length(); i += 8) {
                ObjectNode d = JSON.objectNode().put("type", "content_block_delta").put("index", index);
                d.putObject("delta").put("type", "input_json_delta").put("partial_json", json.substring(i, Math.min(json.length(), i + 8)));
                events.add(d);
            }
            events.add(JSON.objectNode().put("type", "content_block_stop").put("index", index++));
        }
        ObjectNode delta = JSON.objectNode().put("type", "message_delta");
        delta.putObject("delta").put("stop_reason", stopReason(reply)).putNull("stop_sequence");
        delta.putObject("usage").put("output_tokens", reply.usage().completionTokens());
        events.add(delta);
        events.add(JSON.objectNode().put("type", "message_stop"));
        return events;
    }

    /** An error as Anthropic shapes it: {@code {"type": "error", "error": {"type", "message"}}}. */
    static ObjectNode error(ModelApiException e) {
        ObjectNode out = JSON.objectNode().put("type", "error");
        out.putObject("error").put("type", switch (e.status()) {
            case 401 -> "authentication_error";
            case 404 -> "not_found_error";
            case 429 -> "rate_limit_error";
            case 500 -> "api_error";
            default -> "invalid_request_error";
        }).put("message", e.getMessage());
        return out;
    }

    private static ObjectNode head(String id, String model) {
        ObjectNode m = JSON.objectNode();
        m.put("id", id);
        m.put("type", "message");
        m.put("role", "assistant");
        m.put("model", model);
        return m;
    }

    private static JsonNode input(ToolCall c) {
        try {
            JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.arguments());
            return n.isObject() ? n : JSON.objectNode();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return JSON.objectNode(); // Anthropic's input is always an object; garbled calls arrive empty
        }
    }

    private static String stopReason(Reply reply) {
        return switch (reply.finishReason()) {
            case "tool_calls" -> "tool_use";
            case "length" -> "max_tokens";
            default -> "end_turn";
        };
    }

    private static ObjectNode usage(int input, int output) {
        return JSON.objectNode().put("input_tokens", input).put("output_tokens", output);
    }
}
