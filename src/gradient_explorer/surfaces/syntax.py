"""The typed-expression syntax in words, for --help: no sympy, so --help starts fast.

:mod:`gradient_explorer.surfaces.expressions` implements it; a test keeps the two in step.
"""

SYNTAX_HELP = """\
Typed expressions: f(x, y) for a surface, f(x) for a curve, as you would type
them on a calculator, in Desmos or GeoGebra, or paste them from a textbook:
  x^2 - y^2   x**2   x² + y³   2x sin(y)   (x+1)(x-1)   x·y   x×y   π x   −x
  |x| + |y|   ||x| - 1|   e^{-x}   1/(1+e^{-x})   √x   sin^2(x)   sin² x
  sin^-1(x) is asin(x); LaTeX as Desmos copies it: \\frac{1}{2}x \\sin\\left(x\\right)
Functions: sin cos tan asin acos atan (or arcsin arccos arctan) atan2(y, x)
  sinh cosh tanh exp sqrt abs sign, log (natural) ln log10 log2 log(x, b)
  (base b), max(a, b, ...),
  min(a, b, ...), relu sigmoid softplus.
A function of one argument may go without parentheses: sin x, sin 2x,
  sin xy = sin(x y), sin x^2 = sin(x^2). Its argument ends at + - * / , or
  the next function: sin x cos y = sin(x) cos(y), sin x + 1 = sin(x) + 1.
Constants pi (π) and e. Letters a b c d k m n p q r s t u v w are parameters."""
