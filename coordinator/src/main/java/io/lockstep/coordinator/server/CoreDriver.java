package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.core.BarrierView;
import io.lockstep.coordinator.core.BreakReason;
import io.lockstep.coordinator.core.Command;
import io.lockstep.coordinator.core.Effect;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.ReleaseFrames;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Confines the {@link BarrierCore} to one executor and connects it to the network: feeds it commands with the
 * current time, turns its answers into frames on the right channel, and keeps one timer armed at the core's
 * next deadline.
 *
 * <p>Every method that touches the core runs on {@link #executor()}; {@link #submit} may be called from any
 * thread. Frames written during one command are flushed once per channel when the command is done.
 */
public final class CoreDriver {

    private static final Logger log = LoggerFactory.getLogger(CoreDriver.class);

    private final BarrierCore core;
    private final EventExecutor executor;
    private final LongSupplier clockMillis;
    private final Map<Long, Channel> channels = new HashMap<>();
    private final Set<Channel> toFlush = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Consumer<Effect> dispatcher = this::dispatch;
    private ScheduledFuture<?> timer;
    private long timerAt = BarrierCore.NO_DEADLINE;
    private boolean shutDown;

    public CoreDriver(EventExecutor executor, LongSupplier clockMillis, BarrierCore.Limits limits) {
        this.core = new BarrierCore(limits);
        this.executor = executor;
        this.clockMillis = clockMillis;
    }

    /** The executor the core is confined to. */
    public EventExecutor executor() {
        return executor;
    }

    /** Runs {@code command} on the core's executor: at once when already there, else queued. */
    public void submit(Command command) {
        if (executor.inEventLoop()) {
            apply(command);
        } else {
            executor.execute(() -> apply(command));
        }
    }

    /** Attaches a session to its channel and opens it in the core. */
    public void open(long session, String clientName, Channel channel) {
        executor.execute(() -> {
            if (shutDown) {
                channel.writeAndFlush(new Message.Error(0, ErrorCode.SHUTTING_DOWN, "coordinator is shutting down"))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            channels.put(session, channel);
            apply(new Command.OpenSession(session, clientName));
        });
    }

    /** Detaches the session's channel and closes the session in the core. */
    public void close(long session, String why) {
        submit(new Command.CloseSession(session, why));
    }

    /**
     * Breaks every waiter with {@code why}, answers every connection with a final SHUTTING_DOWN error and closes
     * it. Completes when that is done.
     */
    public Future<?> shutdown(String why) {
        return executor.submit(() -> {
            if (shutDown) {
                return;
            }
            apply(new Command.Shutdown(why));
            shutDown = true;
            if (timer != null) {
                timer.cancel(false);
            }
            for (Channel ch : channels.values()) {
                ch.writeAndFlush(new Message.Error(0, ErrorCode.SHUTTING_DOWN, why))
                        .addListener(ChannelFutureListener.CLOSE);
            }
            channels.clear();
        });
    }

    /** A snapshot of every barrier, taken on the core's thread. */
    public Future<List<BarrierView>> views() {
        return executor.submit(() -> core.views(clockMillis.getAsLong()));
    }

    private void apply(Command command) {
        if (shutDown) {
            return;
        }
        if (command instanceof Command.CloseSession c) {
            channels.remove(c.session());
        }
        try {
            core.apply(command, clockMillis.getAsLong(), dispatcher);
        } catch (RuntimeException e) {
            // A bug in the core must not take the coordinator down; it is loud so it gets fixed.
            log.error("barrier core failed on {}", command, e);
        }
        for (Channel ch : toFlush) {
            ch.flush();
        }
        toFlush.clear();
        armTimer();
    }

    private void armTimer() {
        long next = core.nextDeadline();
        if (next >= timerAt) {
            return; // the armed timer fires no later than needed; an early tick costs nothing
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = next;
        long delay = Math.max(0, next - clockMillis.getAsLong());
        timer = executor.schedule(this::onTimer, delay, TimeUnit.MILLISECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = BarrierCore.NO_DEADLINE;
        apply(new Command.Tick());
    }

    private void dispatch(Effect effect) {
        if (effect instanceof Effect.Answer answer) {
            Channel ch = channels.get(answer.session());
            if (ch == null) {
                return;
            }
            Message m = toMessage(answer);
            if (m instanceof Message.Error e && e.code().fatal()) {
                ch.writeAndFlush(m).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            if (m instanceof Message.Released r && !r.contributions().isEmpty()) {
                for (Message frame : ReleaseFrames.split(r)) {
                    ch.write(frame, ch.voidPromise());
                }
            } else {
                ch.write(m, ch.voidPromise());
            }
            toFlush.add(ch);
        } else if (effect instanceof Effect.Broken b) {
            log.info("{}", b.reason().message());
        } else if (effect instanceof Effect.Tripped t) {
            log.debug("barrier '{}' generation {} released {} parties after {} ms", t.barrier(), t.generation(),
                    t.parties(), t.roundMillis());
        }
    }

    private static Message toMessage(Effect.Answer a) {
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
            BarrierView v = s.view();
            List<Message.Waiter> ws = v.waiting().stream()
                    .map(w -> new Message.Waiter(w.party(), w.waitedMillis())).toList();
            return new Message.Status(s.requestId(), v.parties(), v.generation(), v.broken() != null,
                    v.broken() == null ? "" : v.broken().message(), ws);
        }
        throw new AssertionError("unhandled answer " + a);
    }
}
