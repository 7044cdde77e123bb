# Independent reference: byte-level BPE (GPT-2/Qwen2 algorithm as in transformers' slow Qwen2Tokenizer)
# over tokenizer.json's vocab + merges, with the Qwen2 split regex restricted to ASCII classes.
import json, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.environ.get('TOKENIZER_JSON', os.path.join(HERE, *(['..'] * 5), 'shared', 'models', 'qwen3vl-processor', 'tokenizer.json'))
tj = json.load(open(TOKENIZER))
vocab = tj['model']['vocab']
merges = tj['model']['merges']
merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in merges]
ranks = {m: i for i, m in enumerate(merges)}
added = {t['content']: t['id'] for t in tj['added_tokens']}
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~")+1)) + list(range(ord("¡"), ord("¬")+1)) + list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256+n); n += 1
    return dict(zip(bs, map(chr, cs)))
b2u = bytes_to_unicode()
L = 'A-Za-z'; N = '0-9'
pat = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n%s%s]?[%s]+|[%s]| ?[^\s%s%s]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" % (L, N, L, N, L, N))
def bpe(word):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i+1]), 1 << 60), i) for i in range(len(parts)-1)]
        r, i = min(pairs)
        if r == 1 << 60: break
        a, b = parts[i], parts[i+1]
        out = []; j = 0
        while j < len(parts):
            if j < len(parts)-1 and parts[j] == a and parts[j+1] == b: out.append(a+b); j += 2
            else: out.append(parts[j]); j += 1
        parts = out
    return [vocab[p] for p in parts]
def encode(text):
    specials = sorted(added, key=len, reverse=True)
    split = re.split('(' + '|'.join(map(re.escape, specials)) + ')', text)
    ids = []
    for seg in split:
        if not seg: continue
        if seg in added: ids.append(added[seg]); continue
        for w in pat.findall(seg):
            ids += bpe(''.join(b2u[c] for c in w.encode('utf-8')))
    return ids
text = sys.argv[1]
print(json.dumps(encode(text)))
