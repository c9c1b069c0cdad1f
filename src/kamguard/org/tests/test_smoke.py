def test_people_page_lists_scope(world, client_for):
    response = client_for(world.sam).get("/org/people/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "李爱丽" in body and "陈可" not in body
