package dev.gatehouse.samples;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of an OpenAI {@code POST /v1/chat/completions} body that the scripted model reads.
 *
 * @param messages the conversation as sent, each an object with a known {@code role}
 * @param tools the names of the offered function tools, in the order offered
 * @param toolChoiceNone {@code tool_choice: "none"}: answer in text even when tools are offered
 * @param parallelToolCalls {@code parallel_tool_calls} (default true): false keeps only the first tool call
 * @param maxTokens {@code max_completion_tokens}, or the older {@code max_tokens}
 */
record ChatRequest(String model, List<JsonNode> messages, List<String> tools, boolean toolChoiceNone,
        boolean parallelToolCalls, boolean stream, boolean includeUsage, OptionalInt maxTokens) {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    ChatRequest {
        messages = List.copyOf(messages);
        tools = List.copyOf(tools);
    }

    /** Reads and validates a request body; a {@link ModelApiException} (400) names what is wrong. */
    static ChatRequest parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ModelApiException.badRequest("body", "request body: expected a JSON object");
        }
        JsonNode model = body.path("model");
        if (!model.isTextual() || model.asText().isBlank()) {
            throw ModelApiException.badRequest("model", "model: expected a model id such as 'scripted-1', got "
                    + describe(model));
        }
        return new ChatRequest(model.asText(), messages(body.path("messages")), tools(body.path("tools")),
                "none".equals(body.path("tool_choice").asText(null)),
                bool(body, "parallel_tool_calls", true),
                bool(body, "stream", false),
                bool(body.path("stream_options"), "include_usage", false),
                maxTokens(body));
    }

    private static List<JsonNode> messages(JsonNode messages) {
        if (!messages.isArray() || messages.isEmpty()) {
            throw ModelApiException.badRequest("messages", "messages: expected a non-empty array of messages, got "
                    + describe(messages));
        }
        List<JsonNode> list = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            if (!ROLES.contains(message.path("role").asText(""))) {
                throw ModelApiException.badRequest("messages[" + i + "].role", "messages[" + i
                        + "].role: expected one of system, developer, user, assistant, tool, got "
                        + describe(message.path("role")));
            }
            list.add(message);
        }
        return list;
    }

    private static List<String> tools(JsonNode tools) {
        if (tools.isMissingNode() || tools.isNull()) {
            return List.of();
        }
        if (!tools.isArray()) {
            throw ModelApiException.badRequest("tools", "tools: expected an array of function tools, got " + describe(tools));
        }
        List<String> names = new ArrayList<>(tools.size());
        for (int i = 0; i < tools.size(); i++) {
            JsonNode name = tools.get(i).path("function").path("name");
            if (!name.isTextual() || name.asText().isEmpty()) {
                throw ModelApiException.badRequest("tools[" + i + "].function.name",
                        "tools[" + i + "].function.name: expected a tool name, got " + describe(name));
            }
            names.add(name.asText());
        }
        return names;
    }

    private static boolean bool(JsonNode parent, String field, boolean absent) {
        JsonNode value = parent.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return absent;
        }
        if (!value.isBoolean()) {
            throw ModelApiException.badRequest(field, field + ": expected true or false, got " + describe(value));
        }
        return value.booleanValue();
    }

    private static OptionalInt maxTokens(JsonNode body) {
        for (String field : List.of("max_completion_tokens", "max_tokens")) {
            JsonNode value = body.path(field);
            if (value.isMissingNode() || value.isNull()) {
                continue;
            }
            if (!value.canConvertToInt() || !value.isIntegralNumber() || value.intValue() < 1) {
                throw ModelApiException.badRequest(field, field + ": expected an integer >= 1, got " + describe(value));
            }
            return OptionalInt.of(value.intValue());
        }
        return OptionalInt.empty();
    }

    private static String describe(JsonNode value) {
        return value.isMissingNode() ? "nothing" : value.toString();
    }
}
