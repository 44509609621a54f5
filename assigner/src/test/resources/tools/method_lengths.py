#!/usr/bin/env python3
"""Counts method/constructor lines (declaration line to closing brace, inclusive) in Java files.

Usage: MIN=40 python3 method_lengths.py assigner/src/main/java/dev/tessera/assigner
Prints the five largest files and every method of at least MIN lines (default 40). A heuristic (no parser):
records, classes and lambdas are not counted as methods."""
import re, sys, os
DECL = re.compile(r'^\s*(?:(?:public|private|protected|static|final|synchronized|abstract|default)\s+)*'
                  r'(?:<[^>]+>\s+)?(?:[\w.<>\[\], ?]+\s+)?(\w+)\s*\([^;]*$')
KEYWORDS = {'if', 'for', 'while', 'switch', 'catch', 'return', 'new', 'else', 'try', 'synchronized', 'do'}
def methods(path):
    lines = open(path).read().split('\n')
    out = []
    i = 0
    while i < len(lines):
        m = DECL.match(lines[i])
        if m and m.group(1) not in KEYWORDS and not re.search(r'\b(record|class|interface|enum)\b', lines[i]) and not lines[i].strip().startswith(('//', '*', '@')):
            # find the opening brace of the body
            j = i
            while j < len(lines) and '{' not in lines[j] and ';' not in lines[j]:
                j += 1
            if j < len(lines) and '{' in lines[j] and ' -> ' not in lines[i] and '=' not in lines[i].split('(')[0]:
                depth = 0
                k = j
                started = False
                while k < len(lines):
                    code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[k]); code = code.split('//')[0]
                    depth += code.count('{') - code.count('}')
                    if code.count('{'):
                        started = True
                    if started and depth <= 0:
                        break
                    k += 1
                out.append((k - i + 1, m.group(1), i + 1))
                i = j + 1  # nested (local/anonymous) declarations are counted inside
                continue
        i += 1
    return out
MIN = int(os.environ.get('MIN', 40))
root = sys.argv[1]
files = []
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.java'):
            files.append(os.path.join(d, f))
big = []
cls = []
for f in sorted(files):
    n = sum(1 for _ in open(f))
    cls.append((n, os.path.relpath(f, root)))
    for length, name, line in methods(f):
        if length >= MIN:
            big.append((length, os.path.relpath(f, root) + ':' + str(line) + ' ' + name))
cls.sort(reverse=True)
print('largest classes:', ', '.join(f'{p} {n}' for n, p in cls[:5]))
big.sort(reverse=True)
print(f'methods >= {MIN} lines: {len(big)}')
for length, where in big:
    print(f'  {length:4d} {where}')
