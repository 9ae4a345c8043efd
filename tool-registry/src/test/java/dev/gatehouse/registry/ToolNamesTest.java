package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ToolNamesTest {

  @Test
  void plainNamesAreServerSeparatorTool() {
    assertEquals("files__read_file", ToolNames.federated("files", "__", "read_file"));
  }

  @Test
  void longNamesAreShortenedDeterministicallyAndStayValid() {
    String tool = "a_really_long_tool_name_that_goes_on_and_on_and_on_for_quite_a_while";
    String a = ToolNames.federated("server", "__", tool);
    assertTrue(a.length() <= 64, a);
    assertTrue(ToolNames.valid(a), a);
    assertEquals(a, ToolNames.federated("server", "__", tool));
    assertNotEquals(a, ToolNames.federated("server", "__", tool + "2"));
  }

  @Test
  void invalidCharactersAreReplacedAndDistinctOriginalsNeverCollide() {
    String dotted = ToolNames.federated("s", "__", "get.user");
    String underscored = ToolNames.federated("s", "__", "get_user");
    assertTrue(ToolNames.valid(dotted), dotted);
    assertTrue(dotted.startsWith("s__get_user_"), dotted);
    assertNotEquals(dotted, underscored);
  }

  @Test
  void upstreamNamesMayNotContainTheSeparator() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> UpstreamConfig.checkName("my__server", "__"));
    assertEquals("my-server", UpstreamConfig.checkName("my-server", "__"));
  }
}
