
�
	wire-00017https://Example.COM:443/news/q/?utm_source=feed&b=2#top!Quantum chip reaches new fidelity":# Lab notes

A *superconducting* qubit array was measured.*en2	fuzz-wire:	A. Author:	B. WriterB�û�J	
rank1J
sectionscience
$
	wire-0002"Body only, no headline.
F人工智能大模型发布"'量子计算与具身智能的进展。