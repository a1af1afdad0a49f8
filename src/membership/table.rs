//! The querier's group table: what a report, a poll or an expiry touches, without a
//! pass over every group.
//!
//! - Entries live in slots that do not move (`slots`, with a free list), found by group
//!   through N hash buckets (`heads`, a Fibonacci hash of the address) whose chains run
//!   through the entries: a lookup reads a bucket and, on average, one entry. `index`
//!   keeps the groups in address order for listing (a new or removed group shifts its
//!   8-octet pairs, not the entries).
//! - `timers` is a binary min-heap of the present entries, keyed by `key`, which is at
//!   or before the entry's earliest timer (its expiry, or the end of its IGMPv1-hosts
//!   timer). A report that pushes a timer later leaves the key where it is; the key is
//!   raised when its entry reaches the root (`settle`), so after every operation the
//!   root's key is exact and is the earliest timer of the table. A timer brought forward
//!   (a Leave, a group-specific query heard) moves its entry up at once.
//! - `queries` is a min-heap of the entries whose Leave is being checked, keyed by their
//!   next group-specific query.
//! - `events` is a list, linked through the entries, of those whose presence differs
//!   from what was last announced, oldest change first.
//!
//! Ties in both heaps break by group address, so what falls due at one instant comes out
//! in address order.

use heapless::Vec;

use super::Instant;
use crate::addr::GroupAddr;

/// No slot.
const NIL: u32 = u32::MAX;

/// One group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub group: GroupAddr,
    /// When the group times out without another report.
    pub expires: Instant,
    /// When the IGMPv1 hosts heard are considered gone; `Instant::ZERO` if none.
    pub v1_hosts_until: Instant,
    /// When the next group-specific query is due, while `queries_left > 0`.
    pub next_query: Instant,
    pub queries_left: u8,
    pub present: bool,
    pub announced: bool,
    /// At or before the earliest timer, while in `timers`.
    key: Instant,
    /// Position in `timers`, or `NIL`.
    timer_pos: u32,
    /// Position in `queries`, or `NIL`.
    query_pos: u32,
    /// Links of the `events` list (`next` also links the free list).
    prev: u32,
    next: u32,
    /// The next entry of the same hash bucket, or `NIL`.
    chain: u32,
}

impl Entry {
    /// A present, unannounced group.
    pub fn new(group: GroupAddr, expires: Instant) -> Entry {
        Entry {
            group,
            expires,
            v1_hosts_until: Instant::ZERO,
            next_query: Instant::ZERO,
            queries_left: 0,
            present: true,
            announced: false,
            key: expires,
            timer_pos: NIL,
            query_pos: NIL,
            prev: NIL,
            next: NIL,
            chain: NIL,
        }
    }

    /// The earliest timer of a present group.
    fn deadline(&self) -> Instant {
        if self.v1_hosts_until != Instant::ZERO && self.v1_hosts_until < self.expires {
            self.v1_hosts_until
        } else {
            self.expires
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heap {
    Timers,
    Queries,
}

/// The table; see the module documentation.
#[derive(Debug, Clone)]
pub(super) struct Table<const N: usize> {
    slots: Vec<Entry, N>,
    free: u32,
    /// Hash buckets, N of them: the first entry of each, or `NIL`.
    heads: Vec<u32, N>,
    index: Vec<(u32, u32), N>,
    timers: Vec<u32, N>,
    queries: Vec<u32, N>,
    events_head: u32,
    events_tail: u32,
}

impl<const N: usize> Table<N> {
    pub fn new() -> Table<N> {
        let mut heads = Vec::new();
        while heads.push(NIL).is_ok() {}
        Table {
            slots: Vec::new(),
            free: NIL,
            heads,
            index: Vec::new(),
            timers: Vec::new(),
            queries: Vec::new(),
            events_head: NIL,
            events_tail: NIL,
        }
    }

    /// The hash bucket of `bits`: a Fibonacci hash scaled to N without a division.
    fn bucket(bits: u32) -> usize {
        ((u64::from(bits.wrapping_mul(0x9e37_79b1)) * N as u64) >> 32) as usize
    }

    /// The slot of `group`.
    pub fn find(&self, group: GroupAddr) -> Option<u32> {
        let mut at = *self.heads.get(Self::bucket(group.to_bits()))?;
        while at != NIL {
            let e = &self.slots[at as usize];
            if e.group == group {
                return Some(at);
            }
            at = e.chain;
        }
        None
    }

    pub fn get(&self, slot: u32) -> &Entry {
        &self.slots[slot as usize]
    }

    /// The entries in address order (present or not).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.index.iter().map(|&(_, s)| &self.slots[s as usize])
    }

    /// Adds `entry`, a group not in the table; `None` if the table is full.
    pub fn insert(&mut self, entry: Entry) -> Option<u32> {
        let bits = entry.group.to_bits();
        let at = self.index.binary_search_by_key(&bits, |&(g, _)| g).err()?;
        let slot = if self.free != NIL {
            let slot = self.free;
            self.free = self.slots[slot as usize].next;
            self.slots[slot as usize] = entry;
            slot
        } else {
            let slot = u32::try_from(self.slots.len()).ok().filter(|&s| s != NIL)?;
            self.slots.push(entry).ok()?;
            slot
        };
        // The index has room: it holds one pair per live slot, and a slot was found.
        if self.index.insert(at, (bits, slot)).is_err() {
            self.release(slot);
            return None;
        }
        let bucket = Self::bucket(bits);
        self.slots[slot as usize].chain = self.heads[bucket];
        self.heads[bucket] = slot;
        self.fix(slot);
        Some(slot)
    }

    /// Changes the entry in `slot` with `change`, then puts it where it now belongs:
    /// in `timers` while present, in `queries` while a Leave is checked, in `events`
    /// while its presence is unannounced; absent and announced absent, it is removed.
    pub fn update(&mut self, slot: u32, change: impl FnOnce(&mut Entry)) {
        change(&mut self.slots[slot as usize]);
        self.fix(slot);
    }

    fn fix(&mut self, slot: u32) {
        let e = self.slots[slot as usize];
        // Timers: only present entries; a deadline brought forward moves up now, one
        // pushed back waits for `settle`.
        if e.present {
            let deadline = e.deadline();
            if e.timer_pos == NIL {
                self.slots[slot as usize].key = deadline;
                self.push(Heap::Timers, slot);
            } else if deadline < e.key {
                self.slots[slot as usize].key = deadline;
                self.sift_up(Heap::Timers, e.timer_pos as usize);
            }
        } else if e.timer_pos != NIL {
            self.remove(Heap::Timers, slot);
        }
        // Group-specific queries.
        let checking = e.present && e.queries_left > 0;
        match (checking, e.query_pos) {
            (true, NIL) => self.push(Heap::Queries, slot),
            (true, pos) => {
                let pos = self.sift_up(Heap::Queries, pos as usize);
                self.sift_down(Heap::Queries, pos);
            }
            (false, NIL) => {}
            (false, _) => self.remove(Heap::Queries, slot),
        }
        // Events.
        let queued = e.prev != NIL || self.events_head == slot;
        if e.present != e.announced {
            if !queued {
                self.link(slot);
            }
        } else {
            if queued {
                self.unlink(slot);
            }
            if !e.present {
                self.delete(slot);
            }
        }
        self.settle();
    }

    /// The slot whose earliest timer is due at `now`, if any.
    pub fn due_timer(&self, now: Instant) -> Option<u32> {
        let &slot = self.timers.first()?;
        (self.slots[slot as usize].key <= now).then_some(slot)
    }

    /// The earliest timer of any present group.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.first().map(|&s| self.slots[s as usize].key)
    }

    /// The entry with the earliest group-specific query, and when it is due.
    pub fn next_query(&self) -> Option<(u32, Instant)> {
        self.queries.first().map(|&s| (s, self.slots[s as usize].next_query))
    }

    /// Takes the oldest unannounced presence change off the list. The caller announces
    /// it and [`update`](Table::update)s the entry.
    pub fn pop_event(&mut self) -> Option<u32> {
        let slot = self.events_head;
        if slot == NIL {
            return None;
        }
        self.unlink(slot);
        Some(slot)
    }

    /// Applies `shift` to every timer of every entry (time went backwards; `shift` keeps
    /// order) and rebuilds the heaps.
    pub fn shift_timers(&mut self, shift: impl Fn(Instant) -> Instant) {
        // Free slots are shifted too; it does them no harm.
        for e in self.slots.iter_mut() {
            e.expires = shift(e.expires);
            e.next_query = shift(e.next_query);
            e.key = shift(e.key);
            if e.v1_hosts_until != Instant::ZERO {
                e.v1_hosts_until = shift(e.v1_hosts_until).max(Instant::from_millis(1));
            }
        }
        for heap in [Heap::Timers, Heap::Queries] {
            let len = self.heap(heap).len();
            for i in (0..len / 2).rev() {
                self.sift_down(heap, i);
            }
        }
        self.settle();
    }

    /// Raises the root's key to its entry's earliest timer until the root's key is
    /// exact (each raise is one that a report deferred).
    fn settle(&mut self) {
        while let Some(&slot) = self.timers.first() {
            let e = &mut self.slots[slot as usize];
            let deadline = e.deadline();
            if e.key >= deadline {
                return;
            }
            e.key = deadline;
            self.sift_down(Heap::Timers, 0);
        }
    }

    fn delete(&mut self, slot: u32) {
        let bits = self.slots[slot as usize].group.to_bits();
        if let Ok(i) = self.index.binary_search_by_key(&bits, |&(g, _)| g) {
            self.index.remove(i);
        }
        let bucket = Self::bucket(bits);
        let next = self.slots[slot as usize].chain;
        if self.heads[bucket] == slot {
            self.heads[bucket] = next;
        } else {
            let mut at = self.heads[bucket];
            while at != NIL {
                let chain = self.slots[at as usize].chain;
                if chain == slot {
                    self.slots[at as usize].chain = next;
                    break;
                }
                at = chain;
            }
        }
        self.release(slot);
    }

    fn release(&mut self, slot: u32) {
        self.slots[slot as usize].next = self.free;
        self.free = slot;
    }

    fn link(&mut self, slot: u32) {
        let tail = self.events_tail;
        let e = &mut self.slots[slot as usize];
        e.prev = tail;
        e.next = NIL;
        if tail == NIL {
            self.events_head = slot;
        } else {
            self.slots[tail as usize].next = slot;
        }
        self.events_tail = slot;
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { prev, next, .. } = self.slots[slot as usize];
        if prev == NIL {
            self.events_head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.events_tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let e = &mut self.slots[slot as usize];
        e.prev = NIL;
        e.next = NIL;
    }

    fn heap(&self, heap: Heap) -> &Vec<u32, N> {
        match heap {
            Heap::Timers => &self.timers,
            Heap::Queries => &self.queries,
        }
    }

    /// The heap order: (time, group address).
    fn order(&self, heap: Heap, slot: u32) -> (Instant, u32) {
        let e = &self.slots[slot as usize];
        let at = if heap == Heap::Timers { e.key } else { e.next_query };
        (at, e.group.to_bits())
    }

    fn set_pos(&mut self, heap: Heap, slot: u32, pos: u32) {
        let e = &mut self.slots[slot as usize];
        match heap {
            Heap::Timers => e.timer_pos = pos,
            Heap::Queries => e.query_pos = pos,
        }
    }

    /// Puts the slots at `a` and `b` of `heap` in each other's place.
    fn swap(&mut self, heap: Heap, a: usize, b: usize) {
        let v = match heap {
            Heap::Timers => &mut self.timers,
            Heap::Queries => &mut self.queries,
        };
        v.swap(a, b);
        let (sa, sb) = (v[a], v[b]);
        self.set_pos(heap, sa, a as u32);
        self.set_pos(heap, sb, b as u32);
    }

    fn push(&mut self, heap: Heap, slot: u32) {
        let v = match heap {
            Heap::Timers => &mut self.timers,
            Heap::Queries => &mut self.queries,
        };
        // Each heap holds at most one position per slot, and there are at most N slots.
        if v.push(slot).is_err() {
            return;
        }
        let at = v.len() - 1;
        self.set_pos(heap, slot, at as u32);
        self.sift_up(heap, at);
    }

    fn remove(&mut self, heap: Heap, slot: u32) {
        let pos = match heap {
            Heap::Timers => self.slots[slot as usize].timer_pos,
            Heap::Queries => self.slots[slot as usize].query_pos,
        } as usize;
        let last = self.heap(heap).len() - 1;
        if pos != last {
            self.swap(heap, pos, last);
        }
        match heap {
            Heap::Timers => self.timers.pop(),
            Heap::Queries => self.queries.pop(),
        };
        self.set_pos(heap, slot, NIL);
        if pos < last {
            let pos = self.sift_up(heap, pos);
            self.sift_down(heap, pos);
        }
    }

    /// Moves the slot at `i` up to its place; returns where it ends.
    fn sift_up(&mut self, heap: Heap, mut i: usize) -> usize {
        while i > 0 {
            let parent = (i - 1) / 2;
            let (s, p) = (self.heap(heap)[i], self.heap(heap)[parent]);
            if self.order(heap, s) >= self.order(heap, p) {
                break;
            }
            self.swap(heap, i, parent);
            i = parent;
        }
        i
    }

    /// Moves the slot at `i` down to its place.
    fn sift_down(&mut self, heap: Heap, mut i: usize) {
        let len = self.heap(heap).len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            for c in [l, r] {
                if c < len && self.order(heap, self.heap(heap)[c]) < self.order(heap, self.heap(heap)[least]) {
                    least = c;
                }
            }
            if least == i {
                return;
            }
            self.swap(heap, i, least);
            i = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: u8) -> GroupAddr {
        GroupAddr::new([239, 0, 0, n]).unwrap()
    }

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    /// Checks every structure against the entries.
    fn check<const N: usize>(t: &Table<N>) {
        for (heap, v) in [(Heap::Timers, &t.timers), (Heap::Queries, &t.queries)] {
            for (i, &s) in v.iter().enumerate() {
                let e = &t.slots[s as usize];
                assert_eq!(if heap == Heap::Timers { e.timer_pos } else { e.query_pos }, i as u32);
                if i > 0 {
                    assert!(t.order(heap, v[(i - 1) / 2]) <= t.order(heap, s), "heap order");
                }
                if heap == Heap::Timers {
                    assert!(e.present && e.key <= e.deadline());
                } else {
                    assert!(e.present && e.queries_left > 0);
                }
            }
        }
        if let Some(&root) = t.timers.first() {
            assert_eq!(t.slots[root as usize].key, t.slots[root as usize].deadline(), "exact root");
        }
        let mut free = 0;
        let mut at = t.free;
        while at != NIL {
            free += 1;
            at = t.slots[at as usize].next;
        }
        assert_eq!(t.index.len() + free, t.slots.len());
        assert!(t.index.windows(2).all(|w| w[0].0 < w[1].0));
        for &(bits, s) in &t.index {
            let e = &t.slots[s as usize];
            assert_eq!(e.group.to_bits(), bits);
            assert_eq!(t.find(e.group), Some(s), "found through its bucket");
            assert_eq!(e.present, e.timer_pos != NIL);
            let queued = e.prev != NIL || t.events_head == s;
            assert_eq!(e.present != e.announced, queued);
        }
    }

    #[test]
    fn an_entry_is_64_bytes() {
        assert_eq!(size_of::<Entry>(), 64);
    }

    #[test]
    fn the_root_is_the_earliest_timer_after_deferred_raises() {
        let mut t: Table<8> = Table::new();
        let a = t.insert(Entry::new(g(1), ms(100))).unwrap();
        let b = t.insert(Entry::new(g(2), ms(200))).unwrap();
        check(&t);
        assert_eq!(t.next_timer(), Some(ms(100)));
        // A refresh of the root pushes it back: the root becomes b.
        t.update(a, |e| e.expires = ms(300));
        check(&t);
        assert_eq!(t.next_timer(), Some(ms(200)));
        // A refresh of a non-root is deferred, but the root stays exact.
        t.update(a, |e| e.expires = ms(400));
        t.update(b, |e| e.expires = ms(500));
        check(&t);
        assert_eq!(t.next_timer(), Some(ms(400)));
        assert_eq!(t.due_timer(ms(399)), None);
        assert_eq!(t.due_timer(ms(400)), Some(a));
        // Brought forward: at once.
        t.update(b, |e| e.expires = ms(50));
        check(&t);
        assert_eq!(t.due_timer(ms(50)), Some(b));
    }

    #[test]
    fn events_come_oldest_first_and_absent_groups_leave_when_announced() {
        let mut t: Table<4> = Table::new();
        let a = t.insert(Entry::new(g(3), ms(100))).unwrap();
        let b = t.insert(Entry::new(g(1), ms(100))).unwrap();
        assert_eq!(t.pop_event(), Some(a));
        t.update(a, |e| e.announced = true);
        assert_eq!(t.pop_event(), Some(b));
        t.update(b, |e| e.announced = true);
        assert_eq!(t.pop_event(), None);
        // Absent, then present again before anyone asked: nothing to tell.
        t.update(a, |e| e.present = false);
        check(&t);
        t.update(a, |e| e.present = true);
        check(&t);
        assert_eq!(t.pop_event(), None);
        // Absent and announced: gone, its slot reused.
        t.update(b, |e| e.present = false);
        assert_eq!(t.pop_event(), Some(b));
        t.update(b, |e| e.announced = false);
        check(&t);
        assert_eq!(t.find(g(1)), None);
        assert_eq!(t.insert(Entry::new(g(2), ms(5))), Some(b));
        check(&t);
        let order: std::vec::Vec<u8> = t.iter().map(|e| e.group.octets()[3]).collect();
        assert_eq!(order, [2, 3]);
    }

    #[test]
    fn a_full_table_refuses_and_a_removed_group_frees_its_slot() {
        let mut t: Table<2> = Table::new();
        t.insert(Entry::new(g(1), ms(10))).unwrap();
        let b = t.insert(Entry::new(g(2), ms(20))).unwrap();
        assert_eq!(t.insert(Entry::new(g(3), ms(30))), None);
        check(&t);
        // Absent before it was ever announced: removed at once.
        t.update(b, |e| e.present = false);
        check(&t);
        assert!(t.insert(Entry::new(g(3), ms(30))).is_some());
        check(&t);
    }

    #[test]
    fn queries_come_in_time_then_address_order() {
        let mut t: Table<4> = Table::new();
        let slots: std::vec::Vec<u32> =
            [4, 2, 3].iter().map(|&n| t.insert(Entry::new(g(n), ms(1000))).unwrap()).collect();
        for (&s, at) in slots.iter().zip([50, 50, 10]) {
            t.update(s, |e| {
                e.queries_left = 2;
                e.next_query = ms(at);
            });
        }
        check(&t);
        assert_eq!(t.next_query(), Some((slots[2], ms(10))));
        t.update(slots[2], |e| e.queries_left = 0);
        assert_eq!(t.next_query(), Some((slots[1], ms(50))), "239.0.0.2 before 239.0.0.4");
        t.shift_timers(|i| Instant::from_millis(i.total_millis().saturating_sub(40)));
        check(&t);
        assert_eq!(t.next_query(), Some((slots[1], ms(10))));
    }
}
