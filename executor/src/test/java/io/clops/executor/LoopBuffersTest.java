package io.clops.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.IllegalReferenceCountException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The executor's buffers on an event loop: a freed small one is the next one handed out there, whole and empty. */
class LoopBuffersTest {
    private final DefaultEventLoop loop = new DefaultEventLoop();
    private final LoopBuffers buffers = new LoopBuffers(ByteBufAllocator.DEFAULT);

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private <T> T onLoop(Callable<T> work) throws Exception {
        return loop.submit(work).get();
    }

    @Test
    void aReleasedBufferIsHandedOutAgainOnItsLoopEmptyAndWithOneReference() throws Exception {
        onLoop(() -> {
            ByteBuf first = buffers.ioBuffer(300);
            first.writeCharSequence("HTTP/1.1 200 OK\r\n", StandardCharsets.US_ASCII);
            first.readByte();
            first.release();
            assertThat(buffers.waiting()).isEqualTo(1);
            assertThatThrownBy(first::readByte).as("a released buffer stays released for whoever still holds it")
                    .isInstanceOf(IllegalReferenceCountException.class);

            ByteBuf second = buffers.ioBuffer(200);
            assertThat(second).isSameAs(first);
            assertThat(second.refCnt()).isEqualTo(1);
            assertThat(second.readerIndex()).isZero();
            assertThat(second.writerIndex()).isZero();
            assertThat(second.capacity()).isEqualTo(LoopBuffers.SIZE);
            assertThat(buffers.waiting()).isZero();
            second.release();
            return null;
        });
    }

    @Test
    void aSliceKeepsItsBufferUntilTheSliceIsReleasedToo() throws Exception {
        onLoop(() -> {
            ByteBuf b = buffers.ioBuffer(64);
            b.writeCharSequence("a body passed on in a slice", StandardCharsets.US_ASCII);
            ByteBuf slice = b.readRetainedSlice(6);
            b.release();
            assertThat(buffers.waiting()).as("the slice still holds it").isZero();
            assertThat(slice.toString(StandardCharsets.US_ASCII)).isEqualTo("a body");
            slice.release();
            assertThat(buffers.waiting()).isEqualTo(1);
            return null;
        });
    }

    @Test
    void largeBuffersOnesReleasedElsewhereAndGrownOnesAreNotKept() throws Exception {
        ByteBuf big = onLoop(() -> buffers.ioBuffer(LoopBuffers.SIZE + 1));
        assertThat(big).isNotInstanceOf(LoopBuffers.Buf.class);
        big.release();

        ByteBuf handedOn = onLoop(() -> buffers.ioBuffer(100));
        handedOn.release(); // on the test's thread, not the loop's
        assertThat(onLoop(buffers::waiting)).as("freed, not put on the loop's list from another thread").isZero();

        onLoop(() -> {
            ByteBuf grown = buffers.ioBuffer(100);
            grown.writeZero(LoopBuffers.SIZE + 10);
            grown.release();
            assertThat(buffers.waiting()).as("grown past its size: freed").isZero();
            return null;
        });

        ByteBuf offLoop = buffers.ioBuffer(100);
        assertThat(offLoop).as("off a loop: Netty's allocator").isNotInstanceOf(LoopBuffers.Buf.class);
        offLoop.release();
    }

    @Test
    void atMostKeepFreedBuffersWaitPerLoop() throws Exception {
        onLoop(() -> {
            java.util.List<ByteBuf> many = new java.util.ArrayList<>();
            for (int i = 0; i < LoopBuffers.KEEP + 10; i++) {
                many.add(buffers.ioBuffer(100));
            }
            many.forEach(ByteBuf::release);
            assertThat(buffers.waiting()).isEqualTo(LoopBuffers.KEEP);
            return null;
        });
    }
}
