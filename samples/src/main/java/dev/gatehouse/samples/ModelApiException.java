package dev.gatehouse.samples;

import java.util.Optional;

/**
 * An error the scripted model server answers with: an HTTP status and the fields of OpenAI's error object
 * ({@code {"error": {"message", "type", "param", "code"}}}). Thrown anywhere while a request is handled and
 * turned into a response once, by {@link ScriptedModel}.
 */
final class ModelApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final Optional<String> param;
    private final Optional<String> code;

    private ModelApiException(int status, String type, String message, Optional<String> param, Optional<String> code) {
        super(message, null, false, false); // an answer, not a crash: no stack trace to fill
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed; {@code param} names the offending field. */
    static ModelApiException badRequest(String param, String message) {
        return new ModelApiException(400, "invalid_request_error", message, Optional.of(param), Optional.empty());
    }

    /** 400 about something outside the body (a header), so there is no {@code param} to point at. */
    static ModelApiException badHeader(String message) {
        return new ModelApiException(400, "invalid_request_error", message, Optional.empty(), Optional.empty());
    }

    static ModelApiException missingKey(String message) {
        return new ModelApiException(401, "invalid_request_error", message, Optional.empty(), Optional.of("invalid_api_key"));
    }

    static ModelApiException unknownModel(String message) {
        return new ModelApiException(404, "invalid_request_error", message, Optional.of("model"), Optional.of("model_not_found"));
    }

    static ModelApiException notFound(String message) {
        return new ModelApiException(404, "invalid_request_error", message, Optional.empty(), Optional.of("unknown_url"));
    }

    static ModelApiException methodNotAllowed(String message) {
        return new ModelApiException(405, "invalid_request_error", message, Optional.empty(), Optional.of("method_not_allowed"));
    }

    static ModelApiException rateLimited(String message) {
        return new ModelApiException(429, "requests", message, Optional.empty(), Optional.of("rate_limit_exceeded"));
    }

    static ModelApiException serverError(String message) {
        return new ModelApiException(500, "server_error", message, Optional.empty(), Optional.empty());
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    Optional<String> param() {
        return param;
    }

    Optional<String> code() {
        return code;
    }
}
