package dev.gatehouse.router;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The head of one request to a provider, as an adapter builds it: where it goes and the headers
 * its wire format needs (auth, content type, version). The router adds configured headers, the
 * timeouts and the body, and sends it.
 */
final class Outbound {
  final URI uri;
  /** Name, value, name, value, ... in the order they were added. */
  final List<String> headers = new ArrayList<>(12);

  Outbound(URI uri) {
    this.uri = uri;
  }

  Outbound header(String name, String value) {
    headers.add(name);
    headers.add(value);
    return this;
  }
}
