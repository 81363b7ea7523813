import t from 'tap';
import { BlockPool, blockHash } from '../../../lib/sim/kvcache';
import { LEXICON, pieces, renderChat, tokenId, tokenize } from '../../../lib/sim/tokenizer';

t.test('tokenizer: deterministic, words and punctuation, special tokens whole', async (t) => {
  t.same(pieces('Hello, world!  <|user|>\nx_1'), ['Hello', ',', 'world', '!', '<|user|>', 'x_1']);
  t.same(tokenize('the cat'), tokenize('the   cat'), 'whitespace does not matter');
  t.not(tokenize('cat')[0], tokenize('dog')[0]);
  t.equal(tokenize('').length, 0);
  // the lexicon re-tokenizes to one token per word (generated text can be hit later)
  const text = LEXICON.slice(0, 50).join(' ');
  t.equal(tokenize(text).length, 50);
});

t.test('chat template: shared system prompts give shared token prefixes', async (t) => {
  const sys = { role: 'system', content: 'You are a helpful assistant for the harbor.' };
  const a = tokenize(renderChat([sys, { role: 'user', content: 'first question' }]));
  const b = tokenize(renderChat([sys, { role: 'user', content: [{ type: 'text', text: 'second one' }] }]));
  const prefix = tokenize('<|system|>\nYou are a helpful assistant for the harbor.\n<|user|>\n');
  t.same(a.slice(0, prefix.length), prefix);
  t.same(b.slice(0, prefix.length), prefix);
  t.equal(renderChat([{ role: 'user', content: 'hi' }]), '<|user|>\nhi\n<|assistant|>\n');
});

t.test('block hashes chain and depend on the model salt', async (t) => {
  const toks = Array.from({ length: 32 }, (_, i) => i);
  const h0 = blockHash(0, toks, 0, 16, 1);
  const h1 = blockHash(h0, toks, 16, 32, 1);
  t.equal(blockHash(0, toks, 0, 16, 1), h0, 'deterministic');
  t.not(blockHash(0, toks, 0, 16, 2), h0, 'another model, another hash');
  t.not(blockHash(h0 + 1, toks, 16, 32, 1), h1, 'the parent is part of the hash');
  t.ok(Number.isSafeInteger(h1) && h1 >= 0);
});

t.test('block pool: free queue order, touch, shrink with debt', async (t) => {
  const pool = new BlockPool(16, 4);
  t.equal(pool.usage(), 0);
  const toks = Array.from({ length: 64 }, (_, i) => i);
  const blocks = [pool.allocate(), pool.allocate(), pool.allocate()];
  blocks.forEach((b, i) => pool.cache(b, 100 + i, 'm', 0, toks, i * 16));
  t.equal(pool.usage(), 0.75);
  pool.release(blocks);
  t.same(pool.freeQueueHashes(), [-1, 102, 101, 100], 'empty block first, then the request tail-first');
  t.equal(pool.usage(), 0, 'cached blocks with refcount 0 count as free');
  const hit = pool.lookup(100)!;
  pool.touch(hit);
  t.equal(pool.freeCount, 3);
  t.same(pool.freeQueueHashes(), [-1, 102, 101]);
  pool.allocate(); // the empty one
  const evicted = pool.allocate();
  t.equal(pool.lookup(102), undefined, 'allocation evicted the LRU cached block');
  t.equal(pool.evictions, 1);
  // shrink to 2 blocks while 3 are held: one free block is dropped now, the rest when freed
  pool.resize(2);
  t.equal(pool.targetBlocks, 2);
  t.equal(pool.freeCount, 0, 'the free block was dropped at once');
  pool.release([evicted]);
  t.equal(pool.total, 2, 'a freed block pays the debt instead of returning to the queue');
  pool.resize(4);
  t.equal(pool.targetBlocks, 4);
});

t.test('the one-pass tokenizer gives the ids of the regex pieces', async (t) => {
  const samples = [
    'Hello, world!  <|user|>\nx_1',
    '<|system|>\nYou are <|not a special|> token <||> <|a|b|> end',
    'tabs\tand\r\nnewlines; (parens) [brackets] {braces} 3.14 -- ok?',
    'unicode: café naïve 東京 emoji 🚂 mixed_ascii',
    '<|' + 'x'.repeat(32) + '|> <|' + 'y'.repeat(33) + '|>',
    '',
    '   ',
  ];
  for (const s of samples) t.same(tokenize(s), pieces(s).map(tokenId), JSON.stringify(s));
});
