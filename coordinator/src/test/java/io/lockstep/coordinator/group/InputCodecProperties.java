package io.lockstep.coordinator.group;

import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.Input;
import io.lockstep.coordinator.core.Mutations;
import io.lockstep.protocol.Message;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Example;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder of log entries is total: whatever bytes a log holds — random, or an entry the leader wrote with bytes
 * changed, cut or added — decoding either gives a batch or fails with {@link BoundedReader.Malformed}, and allocates
 * no more than a small multiple of the entry's size (an entry claiming two billion inputs once stopped every node).
 */
class InputCodecProperties {

    @Property(tries = 2000)
    void whatTheLeaderWritesIsReadBackAsItWasWritten(@ForAll("batches") List<Input> inputs, @ForAll long stamp)
            throws Exception {
        byte[] entry = InputCodec.encode(stamp, inputs);
        InputCodec.Batch batch = InputCodec.decode(ByteBuffer.wrap(entry));
        assertEquals(stamp, batch.stampMillis());
        assertEquals(inputs.size(), batch.inputs().size());
        assertArrayEquals(entry, InputCodec.encode(batch.stampMillis(), batch.inputs()));
    }

    @Property(tries = 3000)
    void randomBytesDecodeOrAreMalformed(@ForAll @Size(max = 300) byte[] entry) {
        decodesOrIsMalformed(entry);
    }

    @Property(tries = 5000)
    void anEntryWithBytesChangedCutOrAddedDecodesOrIsMalformed(@ForAll("batches") List<Input> inputs,
                                                               @ForAll("mutations") Mutations.Mutation mutation) {
        decodesOrIsMalformed(mutation.apply(InputCodec.encode(42, inputs)));
    }

    @Example
    void countsThatClaimMoreThanTheEntryHoldsAreMalformedAtOnce() {
        // A count of -1, and one of 1.9e9, after the stamp: both stopped every node when decoding trusted them.
        ByteBuffer minusOne = ByteBuffer.allocate(12).putLong(1).putInt(-1);
        assertThrows(BoundedReader.Malformed.class, () -> InputCodec.decode(minusOne.flip()));
        ByteBuffer huge = ByteBuffer.allocate(61).putLong(1).putInt(1_900_000_000);
        assertThrows(BoundedReader.Malformed.class, () -> InputCodec.decode(huge.flip()));
        // A string that claims 2 GiB in a HELLO.
        ByteBuffer name = ByteBuffer.allocate(30).putLong(1).putInt(1).put((byte) 1).putLong(7).putInt(0x7fffffff);
        BoundedReader.Malformed e = assertThrows(BoundedReader.Malformed.class,
                () -> InputCodec.decode(name.flip()));
        assertTrue(e.getMessage().contains("2147483647"), e.getMessage());
    }

    @Example
    void aRequestThatIsNotOneIsMalformed() throws Exception {
        byte[] entry = InputCodec.encode(1, List.of(new Input.Request(1, 0, new Message.Declare(1, "game", 2))));
        entry[8 + 4 + 1 + 8 + 8 + 4] = 0x7f; // the request's type code
        assertThrows(BoundedReader.Malformed.class, () -> InputCodec.decode(ByteBuffer.wrap(entry)));
    }

    static void decodesOrIsMalformed(byte[] entry) {
        Mutations.decodesOrIsMalformed(b -> InputCodec.decode(ByteBuffer.wrap(b)), entry);
    }

    // ---- generators ---------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<List<Input>> batches() {
        return input().list().ofMaxSize(12);
    }

    private static Arbitrary<String> text() {
        return Arbitraries.strings().ofMaxLength(20);
    }

    private static Arbitrary<Input> input() {
        Arbitrary<Long> l = Arbitraries.longs();
        Arbitrary<Input> hello = Combinators.combine(l, text(), l, l, l, Arbitraries.integers())
                .as(Input.Hello::new);
        Arbitrary<Input> request = Combinators.combine(l, l, request()).as(Input.Request::new);
        Arbitrary<Input> ack = Combinators.combine(l, l).as(Input.Ack::new);
        Arbitrary<Input> cut = Combinators.combine(l, l, l).as(Input.Cut::new);
        Arbitrary<Input> close = Combinators.combine(l, text(), Arbitraries.of(true, false)).as(Input.Close::new);
        Arbitrary<Input> tick = Arbitraries.just(new Input.Tick());
        Arbitrary<Input> shutdown = text().map(Input.Shutdown::new);
        Arbitrary<Input> leader = Combinators.combine(text(), text()).as(Input.Leader::new);
        return Arbitraries.oneOf(hello, request, ack, cut, close, tick, shutdown, leader);
    }

    private static Arbitrary<Message.Request> request() {
        Arbitrary<Long> id = Arbitraries.longs().between(1, Long.MAX_VALUE);
        Arbitrary<String> name = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(16);
        Arbitrary<Message.Request> declare = Combinators.combine(id, name, Arbitraries.integers().between(1, 64))
                .as(Message.Declare::new);
        Arbitrary<Message.Request> await = Combinators.combine(id, name, Arbitraries.longs().between(-1, 100_000),
                        Arbitraries.of(true, false), Arbitraries.of(true, false),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(32))
                .as(Message.Await::new);
        Arbitrary<Message.Request> abort = Combinators.combine(id, name).as(Message.Abort::new);
        Arbitrary<Message.Request> reset = Combinators.combine(id, name).as(Message.Reset::new);
        Arbitrary<Message.Request> cancel = id.map(Message.Cancel::new);
        return Arbitraries.oneOf(declare, await, abort, reset, cancel);
    }

    @Provide
    Arbitrary<Mutations.Mutation> mutations() {
        return Mutations.mutations();
    }
}
