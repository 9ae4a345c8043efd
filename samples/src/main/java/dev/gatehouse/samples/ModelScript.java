package dev.gatehouse.samples;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What the scripted model says: a pure function of the request, so that a reply is the same streamed or not,
 * on every run. {@link ScriptedModel} documents the rules; this class applies them.
 */
final class ModelScript {

    /** A tool call the model proposes; {@code arguments} is JSON text, as OpenAI sends it. */
    record ToolCall(String id, String name, String arguments) {
    }

    record Usage(int promptTokens, int completionTokens) {

        int totalTokens() {
            return promptTokens + completionTokens;
        }
    }

    /**
     * The model's answer: either text ({@code toolCalls} empty) or tool calls ({@code content} empty).
     *
     * @param finishReason {@code stop}, {@code length} or {@code tool_calls}
     */
    record Reply(String content, List<ToolCall> toolCalls, String finishReason, Usage usage) {

        Reply {
            toolCalls = List.copyOf(toolCalls);
        }

        boolean callsTools() {
            return !toolCalls.isEmpty();
        }
    }

    /** The asks the script understands, each served by the first offered tool whose name ends in its suffix. */
    private enum Kind {
        ECHO("echo"), HASH("hash"), UUID("uuid"), NOW("now"), CALC("calc");

        final String suffix;

        Kind(String suffix) {
            this.suffix = suffix;
        }
    }

    private record Ask(Kind kind, ObjectNode arguments) {
    }

    /** Where one ask ends and the next begins: sentence ends, semicolons, newlines, and the words and/then. */
    private static final Pattern CLAUSE_BREAK =
            Pattern.compile("[;?!\\n]|\\.(?=\\s|$)|\\s+(?:and|then)\\s+", Pattern.CASE_INSENSITIVE);
    private static final Pattern TRAILING_COMMAS = Pattern.compile("[,\\s]+$");
    /** A clause starting with "garbled" gets arguments that are not JSON (a model's malformed call). */
    private static final Pattern GARBLED = Pattern.compile("^\\s*garbled\\s+", Pattern.CASE_INSENSITIVE);
    private static final Pattern ECHO = Pattern.compile("\\becho\\s+(.+)", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern HASH = Pattern.compile(
            "\\b(?:sha-?256|hash)\\b(?:\\s+(?:hash|digest))?(?:\\s+of)?\\s+(.+)", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern UUID = Pattern.compile("\\buuids?\\b", Pattern.CASE_INSENSITIVE);
    private static final Pattern TIME = Pattern.compile("\\b(?:time|date)\\b", Pattern.CASE_INSENSITIVE);
    private static final Pattern ZONE = Pattern.compile("\\bin\\s+([^\\s,]+)", Pattern.CASE_INSENSITIVE);
    private static final Pattern EXPRESSION = Pattern.compile("[-+(]*\\s*\\d[\\d.\\s()+\\-*/]*");
    private static final Pattern HAS_OPERATOR = Pattern.compile("\\d.*[-+*/].*\\d", Pattern.DOTALL);
    /** One word and the whitespace before it: a "token" for streaming and for usage counts. */
    private static final Pattern PIECE = Pattern.compile("\\s*\\S+");

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private ModelScript() {
    }

    static Reply reply(ChatRequest request) {
        List<JsonNode> messages = request.messages();
        int prompt = 0;
        for (JsonNode message : messages) {
            prompt += pieces(text(message)).size();
        }
        JsonNode last = messages.getLast();
        String role = last.path("role").asText();
        if (role.equals("tool")) {
            return text(quoteToolResults(messages), prompt, request);
        }
        if (role.equals("user") && !request.tools().isEmpty() && !request.toolChoiceNone()) {
            List<ToolCall> calls = toolCalls(text(last), request, priorToolCalls(messages));
            if (!calls.isEmpty()) {
                int completion = 0;
                for (ToolCall call : calls) {
                    completion += pieces(call.name() + " " + call.arguments()).size();
                }
                return new Reply("", calls, "tool_calls", new Usage(prompt, completion));
            }
        }
        String said = messages.reversed().stream()
            .filter(m -> m.path("role").asText().equals("user"))
            .findFirst()
            .map(ModelScript::text)
            .orElse("");
        return text(said.isBlank() ? "You said nothing." : "You said: " + said, prompt, request);
    }

    /** A text reply, cut to the request's token limit (finish reason {@code length}) if it has one. */
    private static Reply text(String content, int prompt, ChatRequest request) {
        List<String> pieces = pieces(content);
        if (request.maxTokens().isPresent() && pieces.size() > request.maxTokens().getAsInt()) {
            List<String> kept = pieces.subList(0, request.maxTokens().getAsInt());
            return new Reply(String.join("", kept).strip(), List.of(), "length", new Usage(prompt, kept.size()));
        }
        return new Reply(content, List.of(), "stop", new Usage(prompt, pieces.size()));
    }

    /** One line per trailing tool message, {@code <tool>: <result>}, the tool named without its prefix. */
    private static String quoteToolResults(List<JsonNode> messages) {
        Map<String, String> names = new HashMap<>();
        for (JsonNode message : messages) {
            for (JsonNode call : message.path("tool_calls")) {
                names.put(call.path("id").asText(), call.path("function").path("name").asText());
            }
        }
        List<String> lines = new ArrayList<>();
        for (int i = messages.size() - 1; i >= 0 && messages.get(i).path("role").asText().equals("tool"); i--) {
            String id = messages.get(i).path("tool_call_id").asText("");
            String name = names.getOrDefault(id, id.isEmpty() ? "tool" : id);
            lines.add(shortName(name) + ": " + text(messages.get(i)));
        }
        Collections.reverse(lines);
        return String.join("\n", lines);
    }

    private static String shortName(String name) {
        int separator = name.lastIndexOf("__");
        return separator < 0 ? name : name.substring(separator + 2);
    }

    private static int priorToolCalls(List<JsonNode> messages) {
        int count = 0;
        for (JsonNode message : messages) {
            if (message.path("role").asText().equals("assistant")) {
                count += message.path("tool_calls").size();
            }
        }
        return count;
    }

    private static List<ToolCall> toolCalls(String userText, ChatRequest request, int priorCalls) {
        List<ToolCall> calls = new ArrayList<>();
        for (String clause : CLAUSE_BREAK.split(userText)) {
            Matcher garbled = GARBLED.matcher(clause);
            boolean broken = garbled.find();
            Optional<Ask> ask = ask(TRAILING_COMMAS.matcher(broken ? garbled.replaceFirst("") : clause.strip()).replaceAll("").strip());
            if (ask.isEmpty()) {
                continue;
            }
            Optional<String> tool = toolFor(ask.get().kind(), request.tools());
            if (tool.isEmpty()) {
                continue;
            }
            String arguments = ask.get().arguments().toString();
            if (broken) {
                arguments = arguments.substring(0, arguments.length() - 1); // the closing brace lost: not JSON
            }
            calls.add(new ToolCall("call_" + (priorCalls + calls.size() + 1), tool.get(), arguments));
            if (!request.parallelToolCalls()) {
                break;
            }
        }
        return calls;
    }

    /** The first rule that matches the clause, in the order echo, hash, uuid, time/date, arithmetic. */
    private static Optional<Ask> ask(String clause) {
        if (clause.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = ECHO.matcher(clause);
        if (m.find()) {
            return Optional.of(new Ask(Kind.ECHO, JSON.objectNode().put("text", unquote(m.group(1)))));
        }
        m = HASH.matcher(clause);
        if (m.find()) {
            return Optional.of(new Ask(Kind.HASH, JSON.objectNode().put("text", unquote(m.group(1)))));
        }
        if (UUID.matcher(clause).find()) {
            return Optional.of(new Ask(Kind.UUID, JSON.objectNode()));
        }
        if (TIME.matcher(clause).find()) {
            m = ZONE.matcher(clause);
            return Optional.of(new Ask(Kind.NOW, JSON.objectNode().put("timezone", m.find() ? m.group(1) : "UTC")));
        }
        m = EXPRESSION.matcher(clause);
        while (m.find()) {
            String expression = balance(m.group().strip());
            if (HAS_OPERATOR.matcher(expression).find()) {
                return Optional.of(new Ask(Kind.CALC, JSON.objectNode().put("expression", expression)));
            }
        }
        return Optional.empty();
    }

    /** Drops closing parentheses that a sentence, not the expression, opened: "(is it 2+3)" gives "2+3". */
    private static String balance(String expression) {
        String result = expression;
        while (result.endsWith(")") && count(result, '(') < count(result, ')')) {
            result = result.substring(0, result.length() - 1).strip();
        }
        return result;
    }

    private static long count(String s, char c) {
        return s.chars().filter(ch -> ch == c).count();
    }

    private static String unquote(String text) {
        String s = text.strip();
        if (s.length() >= 2) {
            char first = s.charAt(0);
            char last = s.charAt(s.length() - 1);
            if ((first == '"' || first == '\'' || first == '`' || first == '\u201c') && (last == first || last == '\u201d')) {
                return s.substring(1, s.length() - 1);
            }
        }
        return s;
    }

    /**
     * The first offered tool named {@code suffix} or ending in a separator and {@code suffix}
     * ({@code tools__calc}, {@code tools.calc}), else the first whose name merely ends in it.
     */
    private static Optional<String> toolFor(Kind kind, List<String> offered) {
        String suffix = kind.suffix;
        Predicate<String> separated = name -> name.equals(suffix) || (name.endsWith(suffix)
                && !Character.isLetterOrDigit(name.charAt(name.length() - suffix.length() - 1)));
        return offered.stream().filter(separated).findFirst()
            .or(() -> offered.stream().filter(name -> name.endsWith(suffix)).findFirst());
    }

    /** The text of a message: a string, or its text parts joined by newlines; none for null content. */
    static String text(JsonNode message) {
        JsonNode content = message.path("content");
        if (content.isTextual()) {
            return content.asText();
        }
        List<String> parts = new ArrayList<>();
        for (JsonNode part : content) {
            if (part.path("text").isTextual()) {
                parts.add(part.path("text").asText());
            }
        }
        return String.join("\n", parts);
    }

    /**
     * Splits text into words, each with the whitespace before it (trailing whitespace joins the last), so
     * that the pieces concatenate back to the text. Streams send one piece per chunk; usage counts pieces.
     */
    static List<String> pieces(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = PIECE.matcher(text);
        int end = 0;
        while (m.find()) {
            pieces.add(m.group());
            end = m.end();
        }
        if (!pieces.isEmpty() && end < text.length()) {
            pieces.set(pieces.size() - 1, pieces.getLast() + text.substring(end));
        }
        return pieces;
    }
}
