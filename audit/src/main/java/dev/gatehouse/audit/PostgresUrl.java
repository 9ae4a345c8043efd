package dev.gatehouse.audit;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A PostgreSQL database named by a URL: {@code postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=require}
 * (also {@code postgres://} and {@code jdbc:postgresql://}). User and password may also come from the
 * standard {@code PGUSER} / {@code PGPASSWORD} variables. {@link #toString} never shows the password.
 *
 * @param jdbcUrl the driver's URL without credentials, query parameters kept
 * @param user empty to let the driver pick
 * @param password empty for none (trust or certificate authentication)
 */
public record PostgresUrl(String jdbcUrl, Optional<String> user, Optional<String> password) {
  private static final String EXPECTED = "(expected: postgresql://USER:PASSWORD@HOST:PORT/DATABASE)";

  static PostgresUrl parse(String store) {
    String rest = store.replaceFirst("(?i)^jdbc:", "").replaceFirst("(?i)^postgres(ql)?:", "");
    URI uri;
    try {
      uri = new URI("postgresql:" + rest);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("store: '" + redact(store) + "': " + e.getReason() + " " + EXPECTED);
    }
    if (uri.getHost() == null || uri.getPath() == null || uri.getPath().length() < 2) {
      throw new IllegalArgumentException("store: '" + redact(store) + "' needs a host and a database " + EXPECTED);
    }
    Optional<String> user = Optional.empty();
    Optional<String> password = Optional.empty();
    if (uri.getRawUserInfo() != null) {
      String[] parts = uri.getRawUserInfo().split(":", 2);
      user = Optional.of(decode(parts[0])).filter(u -> !u.isEmpty());
      password = parts.length > 1 ? Optional.of(decode(parts[1])) : Optional.empty();
    }
    if (user.isEmpty()) {
      user = Optional.ofNullable(System.getenv("PGUSER")).filter(u -> !u.isBlank());
    }
    if (password.isEmpty()) {
      password = Optional.ofNullable(System.getenv("PGPASSWORD"));
    }
    String jdbc = "jdbc:postgresql://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "") + uri.getRawPath()
        + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    return new PostgresUrl(jdbc, user, password);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** {@code store} with any password replaced by {@code ***}, for messages. */
  static String redact(String store) {
    return store == null ? null : store.replaceAll("(//[^/@:]*:)[^/@]*@", "$1***@");
  }

  /** Where, for logs: {@code jdbc:postgresql://host:port/db} as user, without the password. */
  @Override
  public String toString() {
    return jdbcUrl + user.map(u -> " as " + u).orElse("");
  }
}
