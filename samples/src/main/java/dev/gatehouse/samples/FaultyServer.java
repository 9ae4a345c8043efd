package dev.gatehouse.samples;

import static dev.gatehouse.samples.JsonMaps.obj;
import static dev.gatehouse.samples.JsonMaps.objectSchema;
import static dev.gatehouse.samples.JsonMaps.prop;
import static dev.gatehouse.samples.ToolKit.text;
import static dev.gatehouse.samples.ToolKit.tool;

import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema.ServerCapabilities;
import io.modelcontextprotocol.spec.McpServerTransportProvider;

/**
 * The {@code faulty} stdio server, for the gateway's resilience tests: it echoes, sleeps, crashes on request,
 * grows new tools at runtime (so that {@code notifications/tools/list_changed} is sent) and tells its pid.
 * {@code main} adds two start-up faults: {@code --noisy} (junk on stdout first) and {@code --hang-on-start}.
 */
final class FaultyServer {

    static final int DEFAULT_CRASH_CODE = 3;
    static final long MAX_SLEEP_MS = 600_000;
    private static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    /** Set once built; add_tool needs the server it belongs to. */
    private final AtomicReference<McpSyncServer> server = new AtomicReference<>();

    private FaultyServer() {
    }

    static McpSyncServer build(McpServerTransportProvider transport) {
        var faulty = new FaultyServer();
        McpSyncServer server = McpServer.sync(transport)
            .serverInfo("gatehouse-faulty", Samples.VERSION)
            .capabilities(ServerCapabilities.builder().tools(true).logging().build())
            .tools(echo("echo", "Returns its text argument unchanged."), sleep(), crash(), faulty.addTool(), pid(), blob())
            .build();
        faulty.server.set(server);
        return server;
    }

    static SyncToolSpecification echo(String name, String description) {
        return tool(name, "Echo", description,
                objectSchema(obj("text", prop("string", "Text to send back")), "text"),
                true, (exchange, args) -> text(args.string("text")));
    }

    static SyncToolSpecification sleep() {
        return tool("sleep", "Sleep",
                "Sleeps for ms milliseconds (at most 600000), then answers 'slept N ms'.",
                objectSchema(obj("ms", obj("type", "integer", "minimum", 0, "maximum", MAX_SLEEP_MS,
                        "description", "Milliseconds to sleep")), "ms"),
                true, (exchange, args) -> {
                    long ms = args.integer("ms", 0, MAX_SLEEP_MS);
                    try {
                        Thread.sleep(ms);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return ToolKit.error("interrupted");
                    }
                    return text("slept " + ms + " ms");
                });
    }

    static SyncToolSpecification crash() {
        return tool("crash", "Crash",
                "Terminates the server process at once with the given exit code (default 3) without answering "
                        + "this call, as a crashing server would.",
                objectSchema(obj("code", obj("type", "integer", "minimum", 0, "maximum", 255,
                        "default", DEFAULT_CRASH_CODE, "description", "Process exit code"))),
                false, (exchange, args) -> {
                    int code = (int) args.integer("code", DEFAULT_CRASH_CODE, 0, 255);
                    System.err.println("faulty: crash requested, exiting with code " + code);
                    System.err.flush();
                    // halt, not exit: no shutdown hooks, no flushing of pending responses, like a real crash.
                    Runtime.getRuntime().halt(code);
                    throw new IllegalStateException("unreachable");
                });
    }

    SyncToolSpecification addTool() {
        return tool("add_tool", "Add a tool",
                "Registers a new tool with the given name that echoes its text argument. The server then "
                        + "sends notifications/tools/list_changed.",
                objectSchema(obj("name", prop("string", "Name of the new tool: letters, digits, _ . -; 1-64 characters")),
                        "name"),
                false, (exchange, args) -> {
                    String name = args.string("name");
                    if (!TOOL_NAME.matcher(name).matches()) {
                        throw new IllegalArgumentException("tool names are 1-64 letters, digits, '_', '.' or '-'");
                    }
                    McpSyncServer self = server.get();
                    if (self.listTools().stream().anyMatch(t -> t.name().equals(name))) {
                        throw new IllegalArgumentException("a tool named '" + name + "' already exists");
                    }
                    self.addTool(echo(name, "Added at runtime by add_tool; returns its text argument."));
                    return text("added tool '" + name + "'");
                });
    }

    /** Most characters {@code blob} returns. */
    static final long MAX_BLOB = 64L * 1024 * 1024;

    static SyncToolSpecification blob() {
        return tool("blob", "Large answer",
                "Returns a text of the given number of characters (at most 67108864): for testing answers larger than "
                        + "a client accepts.",
                objectSchema(obj("chars", obj("type", "integer", "minimum", 0, "maximum", MAX_BLOB,
                        "description", "How many characters")), "chars"),
                true, (exchange, args) -> text("x".repeat((int) args.integer("chars", 0, MAX_BLOB))));
    }

    static SyncToolSpecification pid() {
        return tool("pid", "Process id", "Returns the operating-system process id of this server.",
                objectSchema(obj()), true, (exchange, args) -> text(Long.toString(ProcessHandle.current().pid())));
    }
}
