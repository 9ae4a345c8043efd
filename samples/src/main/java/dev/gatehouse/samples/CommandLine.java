package dev.gatehouse.samples;

import java.util.List;

/**
 * The parsed command line: {@code <server> [--port N] [--host H] [--noisy] [--hang-on-start]}.
 *
 * @param port the port to listen on, 0 for any free one; meaningless for stdio servers
 */
record CommandLine(String server, String host, int port, boolean noisy, boolean hangOnStart) {

    static final List<String> SERVERS = List.of("stdio-tools", "http-tools", "conformance", "faulty", "scripted-model");
    static final String DEFAULT_HOST = "127.0.0.1";

    static final String USAGE = """
            usage: java -jar gatehouse-samples.jar <server> [options]

            servers:
              stdio-tools    stdio: now, hash, base64, uuid, json_format, calc
              http-tools     Streamable HTTP at /mcp (default port 3001): word_count, slugify,
                             kv_set, kv_get, kv_list, kv_delete, sleep_ms
              conformance    Streamable HTTP at /mcp (default port 3002): the fixture for the
                             MCP conformance suite ('conformance server --url ...')
              faulty         stdio: echo, sleep, crash, add_tool, pid, for resilience tests
              scripted-model OpenAI-compatible model at /v1 (default port 3003): deterministic
                             chat completions and tool calls, models scripted-1, scripted-429,
                             scripted-500, scripted-slow, scripted-stall, scripted-drop

            options:
              --port N           HTTP port; 0 picks a free one (http-tools, conformance, scripted-model)
              --host H           HTTP bind address, default 127.0.0.1 (the same)
              --noisy            print a non-JSON line on stdout before serving (faulty)
              --hang-on-start    never answer initialize (faulty)
            """;

    /** Parses {@code args}; an {@link IllegalArgumentException} says what is wrong. */
    static CommandLine parse(String... args) {
        if (args.length == 0) {
            throw new IllegalArgumentException("no server named");
        }
        String server = args[0];
        if (!SERVERS.contains(server)) {
            throw new IllegalArgumentException("unknown server '" + server + "'; expected one of " + SERVERS);
        }
        boolean http = server.equals("http-tools") || server.equals("conformance") || server.equals("scripted-model");
        String host = DEFAULT_HOST;
        int port = switch (server) {
            case "http-tools" -> HttpTools.DEFAULT_PORT;
            case "scripted-model" -> ScriptedModel.DEFAULT_PORT;
            default -> ConformanceFixture.DEFAULT_PORT;
        };
        boolean noisy = false;
        boolean hang = false;
        for (int i = 1; i < args.length; i++) {
            String option = args[i];
            switch (option) {
                case "--port", "--host" -> {
                    if (!http) {
                        throw new IllegalArgumentException(option + " applies only to HTTP servers");
                    }
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(option + " needs a value");
                    }
                    String value = args[++i];
                    if (option.equals("--host")) {
                        host = value;
                    } else {
                        port = parsePort(value);
                    }
                }
                case "--noisy", "--hang-on-start" -> {
                    if (!server.equals("faulty")) {
                        throw new IllegalArgumentException(option + " applies only to the faulty server");
                    }
                    noisy |= option.equals("--noisy");
                    hang |= option.equals("--hang-on-start");
                }
                default -> throw new IllegalArgumentException("unknown option '" + option + "'");
            }
        }
        return new CommandLine(server, host, port, noisy, hang);
    }

    private static int parsePort(String value) {
        try {
            int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65_535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--port must be a number from 0 to 65535, got '" + value + "'");
    }
}
