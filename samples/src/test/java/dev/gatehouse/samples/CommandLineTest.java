package dev.gatehouse.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(5)
class CommandLineTest {

    @Test
    void httpServersDefaultToLoopbackAndTheirOwnPorts() {
        assertEquals(new CommandLine("http-tools", "127.0.0.1", 3001, false, false), CommandLine.parse("http-tools"));
        assertEquals(new CommandLine("conformance", "127.0.0.1", 3002, false, false), CommandLine.parse("conformance"));
        assertEquals(new CommandLine("scripted-model", "127.0.0.1", 3003, false, false), CommandLine.parse("scripted-model"));
    }

    @Test
    void portAndHostCanBeChosen() {
        assertEquals(new CommandLine("conformance", "localhost", 0, false, false),
                CommandLine.parse("conformance", "--port", "0", "--host", "localhost"));
    }

    @Test
    void faultyTakesItsFaultFlags() {
        CommandLine faulty = CommandLine.parse("faulty", "--noisy", "--hang-on-start");
        assertEquals(true, faulty.noisy());
        assertEquals(true, faulty.hangOnStart());
    }

    @Test
    void mistakesAreExplained() {
        assertEquals("no server named", message());
        assertEquals("unknown server 'ftp'; expected one of [stdio-tools, http-tools, conformance, faulty, scripted-model]", message("ftp"));
        assertEquals("--port applies only to HTTP servers", message("stdio-tools", "--port", "1"));
        assertEquals("--noisy applies only to the faulty server", message("http-tools", "--noisy"));
        assertEquals("--port needs a value", message("http-tools", "--port"));
        assertEquals("--port must be a number from 0 to 65535, got '70000'", message("http-tools", "--port", "70000"));
        assertEquals("unknown option '--verbose'", message("faulty", "--verbose"));
    }

    private static String message(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> CommandLine.parse(args)).getMessage();
    }
}
