package dev.gatehouse.samples;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Tiny but valid media files for content-type tests, generated rather than pasted so that what they contain
 * is visible: a 1x1 red PNG and a 0.1 s 440 Hz WAV beep.
 */
final class MediaSamples {

    /** Base64 of a 1x1 pixel, 8-bit RGB, pure red PNG. */
    static final String RED_PIXEL_PNG = Base64.getEncoder().encodeToString(redPixelPng());

    /** Base64 of a mono 16-bit PCM WAV at 8 kHz: 0.1 s of a 440 Hz sine at half volume. */
    static final String BEEP_WAV = Base64.getEncoder().encodeToString(beepWav());

    private MediaSamples() {
    }

    static byte[] redPixelPng() {
        var png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer header = ByteBuffer.allocate(13)
            .putInt(1).putInt(1) // width, height
            .put((byte) 8) // bits per channel
            .put((byte) 2) // colour type 2: RGB
            .put((byte) 0).put((byte) 0).put((byte) 0); // deflate, adaptive filtering, no interlace
        chunk(png, "IHDR", header.array());
        chunk(png, "IDAT", deflate(new byte[] {0, (byte) 0xff, 0, 0})); // filter "none", then R G B
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        var crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(typeBytes);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private static byte[] deflate(byte[] raw) {
        var deflater = new Deflater();
        deflater.setInput(raw);
        deflater.finish();
        byte[] buffer = new byte[64];
        int n = deflater.deflate(buffer);
        deflater.end();
        return Arrays.copyOf(buffer, n);
    }

    static byte[] beepWav() {
        int sampleRate = 8_000;
        int samples = sampleRate / 10;
        int dataBytes = samples * 2;
        ByteBuffer wav = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        wav.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + dataBytes)
            .put("WAVE".getBytes(StandardCharsets.US_ASCII))
            .put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16)
            .putShort((short) 1) // PCM
            .putShort((short) 1) // mono
            .putInt(sampleRate)
            .putInt(sampleRate * 2) // byte rate
            .putShort((short) 2) // block align
            .putShort((short) 16) // bits per sample
            .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(dataBytes);
        for (int i = 0; i < samples; i++) {
            wav.putShort((short) (Short.MAX_VALUE / 2 * Math.sin(2 * Math.PI * 440 * i / sampleRate)));
        }
        return wav.array();
    }
}
