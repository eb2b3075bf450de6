package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;

import java.util.List;

/** The protocol frame of each answer the core gives: what a client receives for its request. */
final class Answers {

    private Answers() {
    }

    static Message toMessage(Effect.Answer a) {
        if (a instanceof Effect.Released r) {
            return new Message.Released(r.requestId(), r.generation(), r.order(), r.contributions());
        } else if (a instanceof Effect.Failed f) {
            BreakReason why = f.reason();
            return new Message.Failed(f.requestId(), f.outcome(), why.cause(), why.generation(), why.culprit(),
                    why.message());
        } else if (a instanceof Effect.Ok o) {
            return new Message.Ok(o.requestId());
        } else if (a instanceof Effect.RunAction r) {
            return new Message.RunAction(r.requestId(), r.generation());
        } else if (a instanceof Effect.Rejected r) {
            return new Message.Error(r.requestId(), r.code(), r.message());
        } else if (a instanceof Effect.Status s) {
            Message.BarrierInfo i = info(s.view());
            return new Message.Status(s.requestId(), i.parties(), i.generation(), i.broken(), i.brokenReason(),
                    i.waiting());
        } else if (a instanceof Effect.StatusList l) {
            return new Message.Barriers(l.requestId(), l.views().stream().map(Answers::info).toList());
        }
        throw new AssertionError("unhandled answer " + a);
    }

    private static Message.BarrierInfo info(BarrierView v) {
        List<Message.Waiter> ws = v.waiting().stream().map(w -> new Message.Waiter(w.party(), w.waitedMillis()))
                .toList();
        return new Message.BarrierInfo(v.name(), v.parties(), v.generation(), v.broken() != null,
                v.broken() == null ? "" : v.broken().message(), ws);
    }
}
