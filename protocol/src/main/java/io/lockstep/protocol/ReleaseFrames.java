package io.lockstep.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a release whose contributions do not fit in one frame into RELEASE_PART frames followed by a RELEASED,
 * each at most {@link Protocol#DEFAULT_MAX_FRAME_BYTES} long, so that every client can receive it. Contributions
 * keep their arrival order across the frames. A release that fits is returned as it is.
 */
public final class ReleaseFrames {

    private ReleaseFrames() {
    }

    public static List<Message> split(Message.Released r) {
        return split(r, Protocol.DEFAULT_MAX_FRAME_BYTES);
    }

    static List<Message> split(Message.Released r, int maxFrameBytes) {
        List<Message.Contribution> cs = r.contributions();
        if (cs.isEmpty()) {
            return List.of(r);
        }
        int cap = Protocol.LENGTH_PREFIX_BYTES + maxFrameBytes;
        int total = MessageCodec.RELEASED_OVERHEAD;
        for (Message.Contribution c : cs) {
            total += MessageCodec.contributionSize(c);
        }
        if (total <= cap) {
            return List.of(r);
        }
        List<Message> frames = new ArrayList<>();
        List<Message.Contribution> part = new ArrayList<>();
        int size = MessageCodec.RELEASE_PART_OVERHEAD;
        for (Message.Contribution c : cs) {
            int cz = MessageCodec.contributionSize(c);
            if (size + cz > cap && !part.isEmpty()) {
                frames.add(new Message.ReleasePart(r.requestId(), part));
                part = new ArrayList<>();
                size = MessageCodec.RELEASE_PART_OVERHEAD;
            }
            part.add(c);
            size += cz;
        }
        // The last group rides in the RELEASED itself, whose header is a little longer than a part's.
        if (size - MessageCodec.RELEASE_PART_OVERHEAD + MessageCodec.RELEASED_OVERHEAD > cap) {
            frames.add(new Message.ReleasePart(r.requestId(), part));
            part = List.of();
        }
        frames.add(new Message.Released(r.requestId(), r.generation(), r.arrivalOrder(), part));
        return frames;
    }
}
