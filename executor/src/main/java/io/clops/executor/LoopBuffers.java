package io.clops.executor;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledUnsafeDirectByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;

import java.util.ArrayDeque;

/**
 * The executor's sockets' buffers: a small one (up to {@value #SIZE} bytes, what a request or an answer of the usual
 * size needs: each receive, the request head going to the model, the answer head going to the client) is taken from
 * its event loop's own list of freed ones and goes back there when released, on that loop, with no lock, no atomic
 * and no pool bookkeeping; anything larger, or asked for or released off a loop, goes to Netty's allocator as before.
 * Each request takes four such buffers; Netty's adaptive allocator spent ~4% of the executor's CPU handing them out
 * (its chunks' reference counts and size classes), and a recycled buffer is also warm in the cache. At most
 * {@value #KEEP} freed buffers wait per loop ({@value #KEEP} × {@value #SIZE} bytes); one grown past its size is
 * freed, not kept. A buffer is reused only after its last release (reference count 0), as Netty's pooled buffers are.
 */
final class LoopBuffers extends AbstractByteBufAllocator {
    static final int SIZE = 4096;
    static final int KEEP = 512;
    /** One for the executor: the freed lists are per event-loop thread, not per allocator. */
    static final LoopBuffers SHARED = new LoopBuffers(ByteBufAllocator.DEFAULT);

    private final ByteBufAllocator fallback;
    private final FastThreadLocal<ArrayDeque<Buf>> freed = new FastThreadLocal<>() {
        @Override
        protected ArrayDeque<Buf> initialValue() {
            return new ArrayDeque<>();
        }
    };

    LoopBuffers(ByteBufAllocator fallback) {
        super(true);
        this.fallback = fallback;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        if (initialCapacity > SIZE || maxCapacity < SIZE || !(Thread.currentThread() instanceof FastThreadLocalThread)) {
            return fallback.directBuffer(initialCapacity, maxCapacity);
        }
        ArrayDeque<Buf> list = freed.get();
        Buf b = list.pollLast(); // the one freed last: the likeliest to be in the cache
        if (b == null) {
            return new Buf(this, list, maxCapacity);
        }
        b.reuse(maxCapacity);
        return b;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return fallback.heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    /** Freed buffers waiting on this thread's list (for tests). */
    int waiting() {
        return freed.get().size();
    }

    /** A buffer that returns to its loop's list when released there. */
    static final class Buf extends UnpooledUnsafeDirectByteBuf {
        private final ArrayDeque<Buf> home;
        private final Thread loop;

        Buf(ByteBufAllocator alloc, ArrayDeque<Buf> home, int maxCapacity) {
            super(alloc, SIZE, maxCapacity);
            this.home = home;
            this.loop = Thread.currentThread();
        }

        void reuse(int maxCapacity) {
            resetRefCnt();
            setIndex(0, 0);
            markReaderIndex();
            markWriterIndex();
            maxCapacity(maxCapacity);
        }

        @Override
        protected void deallocate() {
            if (Thread.currentThread() == loop && capacity() == SIZE && home.size() < KEEP) {
                home.addLast(this);
            } else {
                super.deallocate(); // released elsewhere, grown, or enough kept: its memory is freed
            }
        }
    }
}
