package io.lockstep.coordinator.core;

import java.util.ArrayList;
import java.util.List;

/** Drives a {@link BarrierCore} with a settable clock and hands back what each command emitted. */
final class CoreHarness {
    final BarrierCore core;
    long now;
    private long nextRequest = 1;

    CoreHarness() {
        this(BarrierCore.Limits.DEFAULT);
    }

    CoreHarness(BarrierCore.Limits limits) {
        core = new BarrierCore(limits);
    }

    List<Effect> apply(Command c) {
        List<Effect> out = new ArrayList<>();
        core.apply(c, now, out::add);
        return out;
    }

    long request() {
        return nextRequest++;
    }

    void open(long session, String name) {
        apply(new Command.OpenSession(session, name));
    }

    List<Effect> declare(long session, String barrier, int parties) {
        return apply(new Command.Declare(session, request(), barrier, parties));
    }

    List<Effect> arrive(long session, long requestId, String barrier) {
        return arrive(session, requestId, barrier, -1);
    }

    List<Effect> arrive(long session, long requestId, String barrier, long timeoutMillis) {
        return apply(new Command.Arrive(session, requestId, barrier, timeoutMillis, false, new byte[0]));
    }

    List<Effect> tickAt(long t) {
        now = t;
        return apply(new Command.Tick());
    }

    static List<Effect.Answer> answers(List<Effect> effects) {
        return effects.stream().filter(e -> e instanceof Effect.Answer).map(e -> (Effect.Answer) e).toList();
    }

    static <T extends Effect> List<T> only(List<Effect> effects, Class<T> type) {
        return effects.stream().filter(type::isInstance).map(type::cast).toList();
    }
}
