package dev.gatehouse.samples;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Literal JSON objects for schemas and structured results, keeping the key order they are written in. */
final class JsonMaps {

    private JsonMaps() {
    }

    /** {@code obj("type", "string", "description", "...")}: alternating keys and values. */
    static Map<String, Object> obj(Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values must come in pairs");
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    /** A JSON Schema for a tool's arguments: an object with these properties, the named ones required. */
    static Map<String, Object> objectSchema(Map<String, Object> properties, String... required) {
        Map<String, Object> schema = obj("type", "object", "properties", properties);
        if (required.length > 0) {
            schema.put("required", List.of(required));
        }
        return schema;
    }

    /** A property schema with a type and a description. */
    static Map<String, Object> prop(String type, String description) {
        return obj("type", type, "description", description);
    }
}
