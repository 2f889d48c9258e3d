"""The render layer: GL context, shaders, geometry, scene, visuals, headless pictures, recording.

``gradient_explorer.render`` is also the public :func:`gradient_explorer.api.render`
function: once any module of this package is imported, Python binds the package to
``gradient_explorer.render``, shadowing the function that ``ge.render(...)`` names. The
package is therefore callable and forwards to the function, so ``ge.render(surface, ...)``
works whichever of the two the attribute holds.
"""

import sys
import types


class _CallableRenderPackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        # api sits above this layer: importing it at the top would be an upward import.
        from gradient_explorer.api import render

        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableRenderPackage
