#!/usr/bin/env python3
"""Lists RustSec advisories affecting the crate versions in Cargo.lock (what `cargo audit` reports),
offline: python3 scripts/audit-advisories.py PATH-TO-A-CLONE-OF-rustsec/advisory-db"""
import glob, os, re, sys, tomllib
lock = tomllib.load(open('Cargo.lock','rb'))
pkgs = {}
for p in lock['package']:
    pkgs.setdefault(p['name'], set()).add(p['version'])
def parse(v):
    v=v.split('+')[0]; pre=''
    if '-' in v: v,pre=v.split('-',1)
    parts=[int(x) for x in v.split('.')]+[0,0,0]
    return (parts[0],parts[1],parts[2], 0 if pre else 1, pre)
def cmp_ok(ver, req):
    req=req.strip()
    m=re.match(r'(>=|<=|>|<|=|\^|~)?\s*([0-9][0-9A-Za-z.\-+]*)',req)
    op,rv=m.group(1) or '^', m.group(2)
    n=len(rv.split('-')[0].split('.'))
    a=parse(ver); b=parse(rv)
    if op=='>=': return a>=b
    if op=='>': return a>b
    if op=='<=': return a<=b
    if op=='<': return a<b
    if op=='=': return a[:3]==b[:3]
    if op=='~':
        return a>=b and (a[0]==b[0] and (n<2 or a[1]==b[1]))
    # caret
    if a<b: return False
    if b[0]>0: return a[0]==b[0]
    if b[1]>0 or n==2: return a[0]==0 and a[1]==b[1]
    return a[:3]==b[:3]
def matches(ver, reqs):
    return any(all(cmp_ok(ver, r) for r in req.split(',')) for req in reqs)
out=[]
for f in glob.glob(os.path.join(sys.argv[1], 'crates/*/*.md')):
    name=f.split('/')[-2]
    if name not in pkgs: continue
    txt=open(f).read()
    m=re.search(r'```toml\n(.*?)```',txt,re.S)
    meta=tomllib.loads(m.group(1))
    adv=meta['advisory']
    if adv.get('withdrawn'): continue
    vers=meta.get('versions',{})
    patched=vers.get('patched',[]); unaff=vers.get('unaffected',[])
    title=txt[m.end():].strip().splitlines()[0].lstrip('# ')
    for v in sorted(pkgs[name]):
        if matches(v, patched) or matches(v, unaff): continue
        out.append((name,v,adv['id'],adv.get('informational',''),title,patched))
for o in sorted(out): print(o)
print(len(pkgs),'crates in lock')
