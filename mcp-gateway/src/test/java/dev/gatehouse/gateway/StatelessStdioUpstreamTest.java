package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every test of {@link StatelessUpstreamTest}, with the upstream {@code v2} started by the gateway over
 * stdio and configured {@code protocol_version: 2026-07-28}: no initialize, every request with its
 * {@code _meta}, list changes on a {@code subscriptions/listen} kept open on the pipe, a cancelled call
 * cancelled with {@code notifications/cancelled}.
 */
@Timeout(120)
class StatelessStdioUpstreamTest extends StatelessUpstreamTest {

  @BeforeAll
  static void start() throws Exception {
    startWith(url -> NodeTooling.script("ts-sdk-v2-upstream.mjs", "--stdio").withProtocolVersion(UpstreamConfig.StreamableHttp.STATELESS));
  }

  @Test
  void theUpstreamIsAChildProcessSpokenToStatelessly() {
    assertTrue(gateway.registry().status().stream().anyMatch(s -> s.name().equals("v2") && s.connected() && s.transport().equals("stdio") && s.pid() > 0),
        gateway.registry().status().toString());
    assertEquals("2026-07-28", gateway.registry().catalog().server("v2").orElseThrow().protocolVersion());
  }
}
