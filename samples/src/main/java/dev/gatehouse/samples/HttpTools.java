package dev.gatehouse.samples;

import static dev.gatehouse.samples.JsonMaps.obj;
import static dev.gatehouse.samples.JsonMaps.objectSchema;
import static dev.gatehouse.samples.JsonMaps.prop;
import static dev.gatehouse.samples.ToolKit.error;
import static dev.gatehouse.samples.ToolKit.structured;
import static dev.gatehouse.samples.ToolKit.text;
import static dev.gatehouse.samples.ToolKit.tool;

import java.nio.charset.StandardCharsets;
import java.text.BreakIterator;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema.ProgressNotification;
import io.modelcontextprotocol.spec.McpSchema.ServerCapabilities;
import io.modelcontextprotocol.spec.McpStreamableServerTransportProvider;

/**
 * The {@code http-tools} server: text utilities, an in-memory key-value notebook shared by all sessions,
 * and {@code sleep_ms} for exercising timeouts and progress.
 */
final class HttpTools {

    static final int DEFAULT_PORT = 3001;

    static final long MAX_SLEEP_MS = 30_000;
    private static final int MAX_KEYS = 1_000;
    private static final int MAX_VALUE_CHARS = 64 * 1024;
    private static final Pattern NOT_SLUG = Pattern.compile("[^a-z0-9]+");
    private static final Pattern MARKS = Pattern.compile("\\p{M}+");

    /** Sorted so that kv_list output is stable, concurrent because sessions call tools in parallel. */
    private final NavigableMap<String, String> notebook = new ConcurrentSkipListMap<>();

    private HttpTools() {
    }

    static McpSyncServer build(McpStreamableServerTransportProvider transport) {
        var tools = new HttpTools();
        return McpServer.sync(transport)
            .serverInfo("gatehouse-http-tools", Samples.VERSION)
            .instructions("Text utilities (word_count, slugify), a shared key-value notebook "
                    + "(kv_set, kv_get, kv_list, kv_delete) and sleep_ms for timeout experiments.")
            .capabilities(ServerCapabilities.builder().tools(false).logging().build())
            .tools(wordCount(), slugify(), tools.kvSet(), tools.kvGet(), tools.kvList(), tools.kvDelete(), sleepMs())
            .build();
    }

    static SyncToolSpecification wordCount() {
        return tool("word_count", "Count words",
                "Counts words, lines, characters (Unicode code points) and UTF-8 bytes in a text.",
                objectSchema(obj("text", prop("string", "The text to measure")), "text"),
                true, (exchange, args) -> {
                    String text = args.string("text");
                    int words = countWords(text);
                    long lines = text.isEmpty() ? 0 : text.lines().count();
                    int chars = text.codePointCount(0, text.length());
                    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
                    return structured(words + " words, " + lines + " lines, " + chars + " characters, " + bytes + " bytes",
                            obj("words", words, "lines", lines, "characters", chars, "bytes", bytes));
                });
    }

    /** Words as a reader sees them: Unicode word boundaries, counting only runs that contain a letter or digit. */
    static int countWords(String text) {
        BreakIterator boundaries = BreakIterator.getWordInstance(Locale.ROOT);
        boundaries.setText(text);
        int count = 0;
        for (int start = boundaries.first(), end = boundaries.next(); end != BreakIterator.DONE;
                start = end, end = boundaries.next()) {
            if (text.substring(start, end).codePoints().anyMatch(Character::isLetterOrDigit)) {
                count++;
            }
        }
        return count;
    }

    static SyncToolSpecification slugify() {
        return tool("slugify", "Make a URL slug",
                "Turns a title into a URL slug: accents removed, lowercase ASCII letters and digits, "
                        + "runs of anything else replaced by one separator. Example: 'Crème Brûlée, 2nd try!' "
                        + "-> 'creme-brulee-2nd-try'.",
                objectSchema(obj(
                        "text", prop("string", "The text to turn into a slug"),
                        "separator", obj("type", "string", "default", "-", "description", "Separator between words"),
                        "max_length", obj("type", "integer", "minimum", 1, "maximum", 200, "default", 80,
                                "description", "Longest slug to return; cut at a word boundary when possible")),
                        "text"),
                true, (exchange, args) -> text(slug(args.string("text"), args.string("separator", "-"),
                        (int) args.integer("max_length", 80, 1, 200))));
    }

    static String slug(String text, String separator, int maxLength) {
        String ascii = MARKS.matcher(Normalizer.normalize(text, Normalizer.Form.NFKD)).replaceAll("");
        String[] words = NOT_SLUG.split(ascii.toLowerCase(Locale.ROOT));
        var slug = new StringBuilder();
        for (String word : words) {
            if (word.isEmpty()) {
                continue;
            }
            int extra = (slug.isEmpty() ? 0 : separator.length()) + word.length();
            if (slug.length() + extra > maxLength) {
                if (slug.isEmpty()) {
                    slug.append(word, 0, maxLength); // a single over-long word is cut, not dropped
                }
                break;
            }
            if (!slug.isEmpty()) {
                slug.append(separator);
            }
            slug.append(word);
        }
        return slug.toString();
    }

    SyncToolSpecification kvSet() {
        return tool("kv_set", "Notebook: store",
                "Stores a text value under a key in the server's in-memory notebook (shared by all sessions, "
                        + "lost on restart). Overwrites any previous value and says so.",
                objectSchema(obj(
                        "key", prop("string", "Key, 1-200 characters"),
                        "value", prop("string", "Text value, up to 64 KiB")),
                        "key", "value"),
                false, (exchange, args) -> {
                    String key = key(args);
                    String value = args.string("value");
                    if (value.length() > MAX_VALUE_CHARS) {
                        throw new IllegalArgumentException("value is longer than " + MAX_VALUE_CHARS + " characters");
                    }
                    if (!notebook.containsKey(key) && notebook.size() >= MAX_KEYS) {
                        throw new IllegalArgumentException("notebook is full (" + MAX_KEYS + " keys); delete some first");
                    }
                    String previous = notebook.put(key, value);
                    return text(previous == null ? "stored '" + key + "'"
                            : "stored '" + key + "' (replaced a value of " + previous.length() + " characters)");
                });
    }

    SyncToolSpecification kvGet() {
        return tool("kv_get", "Notebook: read",
                "Returns the value stored under a key in the notebook, or an error if there is none.",
                objectSchema(obj("key", prop("string", "Key to read")), "key"),
                true, (exchange, args) -> {
                    String key = key(args);
                    String value = notebook.get(key);
                    return value != null ? text(value) : error("no value stored under '" + key + "'");
                });
    }

    SyncToolSpecification kvList() {
        return tool("kv_list", "Notebook: list keys",
                "Lists the notebook's keys in alphabetical order, optionally only those starting with a prefix.",
                objectSchema(obj("prefix", obj("type", "string", "default", "", "description", "Only keys starting with this"))),
                true, (exchange, args) -> {
                    String prefix = args.string("prefix", "");
                    List<String> keys = new ArrayList<>();
                    for (String key : notebook.tailMap(prefix, true).keySet()) {
                        if (!key.startsWith(prefix)) {
                            break;
                        }
                        keys.add(key);
                    }
                    return structured(keys.isEmpty() ? "(no keys)" : String.join("\n", keys),
                            obj("keys", keys, "count", keys.size()));
                });
    }

    SyncToolSpecification kvDelete() {
        return tool("kv_delete", "Notebook: delete",
                "Deletes a key from the notebook. Deleting a missing key is not an error.",
                objectSchema(obj("key", prop("string", "Key to delete")), "key"),
                false, (exchange, args) -> {
                    String key = key(args);
                    return text(notebook.remove(key) != null ? "deleted '" + key + "'" : "'" + key + "' was not set");
                });
    }

    private static String key(ToolKit.Args args) {
        String key = args.string("key");
        if (key.isEmpty() || key.length() > 200) {
            throw new IllegalArgumentException("key must be 1-200 characters long");
        }
        return key;
    }

    static SyncToolSpecification sleepMs() {
        return tool("sleep_ms", "Sleep",
                "Waits the given number of milliseconds (at most 30000) and then answers. Sends a progress "
                        + "notification about once a second when the caller supplies a progress token. "
                        + "Useful for testing timeouts and progress forwarding.",
                objectSchema(obj("ms", obj("type", "integer", "minimum", 0, "maximum", MAX_SLEEP_MS,
                        "description", "Milliseconds to sleep, 0-30000")), "ms"),
                true, (exchange, args) -> {
                    long ms = args.integer("ms", 0, MAX_SLEEP_MS);
                    Object token = args.progressToken();
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
                    try {
                        for (long left = ms; left > 0; left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) {
                            Thread.sleep(Math.min(left, 1_000));
                            if (token != null) {
                                long done = Math.min(ms, ms - TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                                exchange.progressNotification(ProgressNotification.builder(token, done)
                                    .total((double) ms)
                                    .message("slept " + done + " of " + ms + " ms")
                                    .build());
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return error("interrupted after less than " + ms + " ms");
                    }
                    return text("slept " + ms + " ms");
                });
    }
}
