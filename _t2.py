import time, json, sys, tempfile
from starlette.testclient import TestClient
from stationplan.serve import create_app
d = tempfile.mkdtemp()
c = TestClient(create_app(d))
def wait(job):
    while True:
        j = c.get(f"/api/jobs/{job}").json()
        if j["state"] in ("done","failed"): return j
        time.sleep(0.3)
with open('/work/shared/data/osm/guixi_county_city.osm.bz2','rb') as f:
    job = c.post("/api/network", files={"file": ("guixi.osm.bz2", f)}).json()["job"]
print(wait(job)["state"])
with open('/work/shared/data/sheets/guixi_stations.xlsx','rb') as f:
    sid = c.post("/api/sheets", files={"file": ("guixi_stations.xlsx", f)}).json()["sheet_id"]
c.post(f"/api/sheets/{sid}/confirm", json={"crs":"gcj02"})
t=time.time()
job = c.post("/api/plan", json={"k": 3}).json()["job"]
j = wait(job); print("plan", time.time()-t, j["state"], j["message"], json.dumps(j["result"], ensure_ascii=False)[:800] if j["result"] else None)
r = c.post(f"/api/proposals/{job}/1/accept"); print(r.status_code, r.json().get("figures"), r.json().get("error"))
r = c.post(f"/api/proposals/{job}/2/reject"); print(r.status_code, r.json())
r = c.post(f"/api/proposals/{job}/1/accept"); print(r.status_code, r.json())
print(c.get(f"/api/jobs/{job}").json()["result"]["proposals"])
r = c.post("/api/undo"); print("undo accept", r.json()["figures"])
print([ (p["rank"],p["status"]) for p in c.get(f"/api/jobs/{job}").json()["result"]["proposals"]])
r = c.post("/api/redo"); print("redo accept", r.json()["figures"])
with open('/work/shared/data/sheets/guixi_proposals.xlsx','rb') as f:
    job = c.post("/api/check", files={"file": ("guixi_proposals.xlsx", f)}, data={"crs":"gcj02"}).json()["job"]
j = wait(job); print("check", j["state"], j["message"], json.dumps(j["result"] and j["result"]["sites"], ensure_ascii=False)[:1500])
st = c.post("/api/scenarios", json={"name": "方案二"}).json(); print(st["scenario"], len(st["stations"]))
r = c.delete("/api/stations/1"); print(r.json()["figures"]["share"])
print(c.get("/api/compare?a=1&b=2").json())
for name in ("amap.xlsx","tables.xlsx","project.gpkg","report.html"):
    t=time.time(); r = c.get(f"/api/download/{name}"); print(name, r.status_code, len(r.content), r.headers.get("content-disposition"), time.time()-t)
import os; print(os.listdir(d+"/downloads"), os.listdir(d+"/inputs"))
