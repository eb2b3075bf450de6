package io.lockstep.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReleaseFramesTest {

    @Test
    void aSmallReleaseIsOneFrame() {
        Message.Released r = new Message.Released(1, 1, 0, List.of(new Message.Contribution("a", new byte[10])));
        assertEquals(List.of(r), ReleaseFrames.split(r));
    }

    @Test
    void aLargeReleaseIsSplitIntoFramesUnderTheLimitThatReassembleInOrder() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 50; trial++) {
            List<Message.Contribution> cs = new ArrayList<>();
            int n = 1 + rnd.nextInt(60);
            for (int i = 0; i < n; i++) {
                byte[] data = new byte[rnd.nextInt(Protocol.DEFAULT_MAX_CONTRIBUTION_BYTES + 1)];
                rnd.nextBytes(data);
                cs.add(new Message.Contribution("party-" + i, data));
            }
            Message.Released r = new Message.Released(9, 3, 2, cs);
            List<Message> frames = ReleaseFrames.split(r, 256 * 1024);
            List<Message.Contribution> back = new ArrayList<>();
            for (int i = 0; i < frames.size(); i++) {
                ByteBuf b = Unpooled.buffer();
                FrameEncoder.writeFrame(frames.get(i), b);
                assertTrue(b.readableBytes() - 4 <= 256 * 1024, "frame of " + b.readableBytes() + " bytes");
                b.release();
                if (i < frames.size() - 1) {
                    back.addAll(assertInstanceOf(Message.ReleasePart.class, frames.get(i)).contributions());
                } else {
                    Message.Released last = assertInstanceOf(Message.Released.class, frames.get(i));
                    assertEquals(2, last.arrivalOrder());
                    back.addAll(last.contributions());
                }
            }
            assertEquals(cs, back);
        }
    }
}
