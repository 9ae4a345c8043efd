package dev.gatehouse.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.util.Base64;

import javax.imageio.ImageIO;
import javax.sound.sampled.AudioSystem;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class MediaSamplesTest {

    @Test
    void pngIsOneRedPixelThatImageDecodersAccept() throws Exception {
        var image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(MediaSamples.RED_PIXEL_PNG)));
        assertEquals(1, image.getWidth());
        assertEquals(1, image.getHeight());
        assertEquals(0xffff0000, image.getRGB(0, 0));
    }

    @Test
    void wavIsATenthOfASecondOfEightKilohertzMonoPcm() throws Exception {
        try (var audio = AudioSystem.getAudioInputStream(
                new ByteArrayInputStream(Base64.getDecoder().decode(MediaSamples.BEEP_WAV)))) {
            var format = audio.getFormat();
            assertEquals(8_000f, format.getSampleRate());
            assertEquals(1, format.getChannels());
            assertEquals(16, format.getSampleSizeInBits());
            assertEquals(800, audio.getFrameLength());
        }
    }
}
