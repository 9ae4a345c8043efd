package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.router.Attempt.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.http.HttpFields;

/**
 * Why one attempt failed, classified so the router knows what to do next (retry, next key, next route,
 * give up). Internal control flow: always caught in this package; carries no stack trace.
 */
final class Failure extends Exception {
  private static final long serialVersionUID = 1L;

  final Outcome outcome;
  final int status;
  final String code;
  final transient Optional<Duration> retryAfter;

  Failure(Outcome outcome, int status, String code, String message, Optional<Duration> retryAfter) {
    super(message, null, false, false);
    this.outcome = outcome;
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  static Failure timeout(String what) {
    return new Failure(Outcome.TIMEOUT, 0, "upstream_timeout", what, Optional.empty());
  }

  static Failure connection(String what) {
    return new Failure(Outcome.CONNECTION_FAILED, 0, "upstream_unavailable", what, Optional.empty());
  }

  static Failure busy(int limit) {
    return new Failure(Outcome.BUSY, 0, "provider_busy", "all " + limit + " concurrent slots in use", Optional.empty());
  }

  /** An error the provider reported inside a stream (Anthropic's {@code error} event, Bedrock's exceptions). */
  static Failure inStream(Outcome outcome, int status, String code, String message) {
    return new Failure(outcome, status, code, message, Optional.empty());
  }

  /** Classifies an HTTP error response from its status, headers and (already read, bounded) body. */
  static Failure fromResponse(int status, HttpFields headers, byte[] body, Redactor redactor, Clock clock) {
    JsonNode json = null;
    try {
      json = Json.MAPPER.readTree(body);
    } catch (Exception ignored) {
      // Not JSON (a proxy's HTML page, say): only the status speaks.
    }
    String message = "";
    String code = "";
    if (json != null && json.isObject()) {
      JsonNode error = json.get("error");
      if (error != null && error.isObject()) {
        message = error.path("message").asText("");
        code = firstText(error.get("code"), error.get("status"), error.get("type"));
      } else if (error != null && error.isTextual()) {
        message = error.asText();
      }
      if (message.isEmpty()) {
        JsonNode detail = json.get("detail");
        message = firstText(json.get("message"), json.get("Message"),
            detail != null && detail.isArray() ? detail.path(0).get("msg") : detail);
      }
      if (code.isEmpty()) {
        code = firstText(json.get("code"), json.get("type"));
      }
    }
    String amzType = Optional.ofNullable(headers.get("x-amzn-ErrorType")).orElse("");
    if (!amzType.isEmpty()) {
      int colon = amzType.indexOf(':');
      code = colon < 0 ? amzType : amzType.substring(0, colon);
    }
    if ("error".equals(code)) {
      code = "";
    }
    message = redactor.scrub(message);
    if (message.isEmpty()) {
      message = "HTTP " + status;
    }
    Outcome outcome = classify(status);
    Optional<Duration> retryAfter = outcome == Outcome.RATE_LIMITED || outcome == Outcome.SERVER_ERROR
        ? retryAfter(headers, clock) : Optional.empty();
    String safeCode = code.replaceAll("[^A-Za-z0-9_.:-]", "_").toLowerCase(java.util.Locale.ROOT);
    if (safeCode.length() > 64) {
      safeCode = safeCode.substring(0, 64);
    }
    return new Failure(outcome, status, safeCode, message, retryAfter);
  }

  static Outcome classify(int status) {
    if (status == 401 || status == 402 || status == 403) {
      return Outcome.KEY_REJECTED;
    }
    if (status == 429) {
      return Outcome.RATE_LIMITED;
    }
    if (status == 408) {
      return Outcome.TIMEOUT;
    }
    if (status == 409 || status >= 500 || status < 400) {
      return Outcome.SERVER_ERROR;
    }
    return Outcome.CLIENT_ERROR;
  }

  /** {@code retry-after-ms} (OpenAI, Azure), else {@code retry-after} in seconds or as an HTTP date. */
  static Optional<Duration> retryAfter(HttpFields headers, Clock clock) {
    Optional<String> ms = Optional.ofNullable(headers.get("retry-after-ms"));
    if (ms.isPresent()) {
      try {
        double v = Double.parseDouble(ms.get().strip());
        if (v >= 0 && v < 86_400_000) {
          return Optional.of(Duration.ofMillis((long) Math.ceil(v)));
        }
      } catch (NumberFormatException ignored) {
        // fall through to retry-after
      }
    }
    Optional<String> ra = Optional.ofNullable(headers.get("retry-after"));
    if (ra.isEmpty()) {
      return Optional.empty();
    }
    String v = ra.get().strip();
    try {
      double seconds = Double.parseDouble(v);
      return seconds >= 0 && seconds < 86_400 ? Optional.of(Duration.ofMillis((long) Math.ceil(seconds * 1000))) : Optional.empty();
    } catch (NumberFormatException notSeconds) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
        Duration d = Duration.between(clock.instant(), at.toInstant());
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (RuntimeException notADate) {
        return Optional.empty();
      }
    }
  }

  private static String firstText(JsonNode... nodes) {
    for (JsonNode n : nodes) {
      if (n != null && (n.isTextual() || n.isNumber()) && !n.asText().isBlank()) {
        return n.asText();
      }
    }
    return "";
  }

  /** The error the caller sees when this failure ends the call on {@code route}. */
  RouterException toException(Route route, List<Attempt> tried) {
    String where = route.target();
    return switch (outcome) {
      case CLIENT_ERROR -> new RouterException(status, status == 404 ? "not_found_error" : "invalid_request_error",
          code.isEmpty() ? defaultClientCode(status) : code, where + ": " + getMessage(), Optional.empty(), tried, Optional.empty());
      case KEY_REJECTED -> new RouterException(502, "api_error",
          status == 401 ? "provider_auth_failed" : status == 402 ? "provider_payment_required" : "provider_permission_denied",
          where + ": the provider refused the gateway's key (" + status + "): " + getMessage(), Optional.empty(), tried, Optional.empty());
      case RATE_LIMITED -> new RouterException(429, "rate_limit_error", "rate_limit_exceeded",
          where + ": rate limited by the provider: " + getMessage(), Optional.empty(), tried, retryAfter);
      case SERVER_ERROR -> new RouterException(502, "api_error", "upstream_error",
          where + ": the provider failed (" + (status == 0 ? code : String.valueOf(status)) + "): " + getMessage(), Optional.empty(), tried,
          Optional.empty());
      case CONNECTION_FAILED -> new RouterException(502, "api_error", "upstream_unavailable",
          where + ": " + getMessage(), Optional.empty(), tried, Optional.empty());
      case TIMEOUT -> new RouterException(504, "api_error", "upstream_timeout", where + ": " + getMessage(), Optional.empty(), tried,
          Optional.empty());
      case BUSY -> new RouterException(503, "api_error", "provider_busy", where + ": " + getMessage(), Optional.empty(), tried,
          Optional.empty());
      case STREAM_BROKEN -> new RouterException(502, "api_error", "stream_interrupted",
          where + ": the stream broke after it started: " + getMessage(), Optional.empty(), tried, Optional.empty());
      case OK -> throw new IllegalStateException("not a failure");
    };
  }

  /** {@code 400ms}, {@code 30s}, {@code 2m30s}: durations as config writes them. */
  static String human(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000 || ms % 1000 != 0) {
      return ms + "ms";
    }
    long s = ms / 1000;
    return s < 60 ? s + "s" : (s / 60) + "m" + (s % 60 == 0 ? "" : (s % 60) + "s");
  }

  private static String defaultClientCode(int status) {
    return switch (status) {
      case 404 -> "model_not_found";
      case 413 -> "request_too_large";
      case 422 -> "unprocessable_entity";
      default -> "invalid_request";
    };
  }
}
